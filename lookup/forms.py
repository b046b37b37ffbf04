"""Forms validate input only; lookup.queries reads what a query means."""

import datetime

from django import forms
from django.utils import timezone

from reporting.forms import UploadForm

from .queries import CODE, ID_NUMBER, MODE_LABELS, NAME

MODE_CHOICES = [("", "自动识别"), *((mode, f"按{MODE_LABELS[mode]}") for mode in (CODE, ID_NUMBER, NAME))]


class SearchForm(forms.Form):
    q = forms.CharField(
        label="查询内容", max_length=200, error_messages={"required": "请输入要查询的统一社会信用代码、证件号码或名称。"},
        widget=forms.TextInput(attrs={"class": "form-control", "autofocus": True, "autocomplete": "off",
                                      "placeholder": "统一社会信用代码、身份证号码或名称（可只输入名称的一部分）"}),
    )
    mode = forms.ChoiceField(label="查询方式", choices=MODE_CHOICES, required=False,
                             widget=forms.Select(attrs={"class": "form-select"}))


def _not_future(day):
    if day > timezone.localdate():
        raise forms.ValidationError("信息截止日期不能晚于今天。")
    return day


class AsOfForm(forms.Form):
    """The date a report or a check is made as of: today unless another past date is given."""

    as_of = forms.DateField(label="信息截止日期", required=False,
                            widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
                            error_messages={"invalid": "请输入有效日期，如 2019-08-05。"})

    def clean_as_of(self):
        return _not_future(self.cleaned_data["as_of"] or timezone.localdate())

    @classmethod
    def parse(cls, data):
        """The date from a query string, or None when it is not a valid past date."""
        form = cls(data)
        return form.cleaned_data["as_of"] if form.is_valid() else None


class BatchCheckForm(UploadForm):
    """A list of subjects to check (the upload rules of reporting's UploadForm: .xlsx/.csv, size)."""

    mode = None
    as_of = forms.DateField(label="核查基准日", initial=datetime.date.today, required=False,
                            widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
                            help_text="默认今天：黑名单和处罚公示期按这一天判断。",
                            error_messages={"invalid": "请输入有效日期，如 2019-08-05。"})

    def clean_as_of(self):
        return _not_future(self.cleaned_data["as_of"] or timezone.localdate())
