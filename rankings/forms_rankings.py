"""The office's entry of the city's national monitoring rank (城市信用监测排名)."""

from django import forms
from django.utils import timezone

from reporting.forms import parse_period

from .models import CityRank


def _positive(label, **kwargs):
    return forms.IntegerField(
        label=label, min_value=1, max_value=10_000,
        error_messages={"required": f"请填写{label}。", "invalid": f"{label}应为整数。",
                        "min_value": f"{label}应为不小于 1 的整数。", "max_value": f"{label}不能超过 10000。"},
        **kwargs,
    )


class CityRankForm(forms.ModelForm):
    """One month's rank.  Entering a month that already has a rank corrects that month's entry."""

    month = forms.CharField(
        label="月份", max_length=7, help_text="格式 YYYY-MM，如 2019-08",
        error_messages={"required": "请填写月份。"},
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2019-08"}),
    )

    field_order = ["month", "rank", "total_cities", "target_rank", "note"]

    rank = _positive("排名")
    total_cities = _positive("参评城市数")
    target_rank = _positive("目标名次", help_text="如目标为“前50名”，填 50")

    class Meta:
        model = CityRank
        fields = ["rank", "total_cities", "target_rank", "note"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "instance" not in kwargs:
            period = parse_period(data.get("month", ""))
            kwargs["instance"] = CityRank.objects.filter(period=period).first() if period else None
        super().__init__(data, *args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["month"] = self.instance.period.strftime("%Y-%m")

    def clean_month(self):
        period = parse_period(self.cleaned_data["month"].strip())
        if period is None:
            raise forms.ValidationError("请按 YYYY-MM 格式填写月份，如 2019-08。")
        if period > timezone.localdate().replace(day=1):
            raise forms.ValidationError("不能填写未来月份的排名。")
        return period

    def clean(self):
        data = super().clean()
        rank, total, target = data.get("rank"), data.get("total_cities"), data.get("target_rank")
        if rank and total and rank > total:
            self.add_error("rank", f"排名（第{rank}名）不能大于参评城市数（{total}个）。")
        if target and total and target > total:
            self.add_error("target_rank", f"目标名次（前{target}名）不能大于参评城市数（{total}个）。")
        if data.get("month"):
            self.instance.period = data["month"]
        return data
