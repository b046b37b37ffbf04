import re

from django import forms

from reporting.management.cli import parse_period

from . import national

_MONTH = re.compile(r"^\d{4}-\d{1,2}$")


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "class": "form-control form-control-sm"})

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        if not _MONTH.match(value):
            raise forms.ValidationError(f"月份“{value}”格式不对，应为 YYYY-MM，如 2019-08。")
        try:
            return parse_period(value)
        except Exception:
            raise forms.ValidationError(f"月份“{value}”格式不对，应为 YYYY-MM，如 2019-08。") from None


class ExportForm(forms.Form):
    category = forms.ChoiceField(label="类别", choices=[(code, layout.name) for code, layout in national.LAYOUTS.items()],
                                 widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    period_from = MonthField(label="起始月份")
    period_through = MonthField(label="截止月份")
    fmt = forms.ChoiceField(label="格式", choices=[("xlsx", "Excel（xlsx）"), ("csv", "CSV（UTF-8）")],
                            widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    headers = forms.ChoiceField(label="表头", choices=[("code", "字段代码（XK_…/CF_…）"), ("zh", "中文字段名")],
                                widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    since_last = forms.BooleanField(label="只导出上次导出以来新增或改动的记录", required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("period_from"), data.get("period_through")
        if start and end and start > end:
            self.add_error("period_through", f"截止月份（{end:%Y-%m}）不能早于起始月份（{start:%Y-%m}）。")
        return data
