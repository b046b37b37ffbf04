"""Forms validate input only; the services decide what it means."""

from django import forms
from django.utils import timezone

from reporting.forms import parse_period
from reporting.models import Unit, UnitKind

KIND_CHOICES = [("", "全部单位"), *UnitKind.choices]


class RateFilterForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100, required=False)
    kind = forms.ChoiceField(label="单位类型", choices=KIND_CHOICES, required=False)

    def values(self):
        """(year, kind): what was asked for, else this year and every unit."""
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("year") or timezone.localdate().year, data.get("kind") or ""


class PeriodField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        period = parse_period(value)
        if period is None:
            raise forms.ValidationError("月份格式应为 YYYY-MM，如 2019-09。")
        return period


class RemindForm(forms.Form):
    month = PeriodField(label="月份", error_messages={"required": "请选择催报的月份。"})
    units = forms.MultipleChoiceField(label="单位", error_messages={"required": "请至少选择一个单位。"})
    note = forms.CharField(label="附言", max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].choices = [(code, code) for code in Unit.objects.filter(is_active=True)
                                        .values_list("code", flat=True)]
