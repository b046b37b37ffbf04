"""Admin screens: statistics table layouts, the score weights and the city's monitoring rank."""

from django import forms
from django.contrib import admin

from reporting.models import UnitKind

from .models import CityRank, IndicatorWeight, RebuildJob, RollupMark, StatColumn, StatTable


class StatColumnInline(admin.TabularInline):
    model = StatColumn
    extra = 1
    fields = ("position", "label", "source")
    ordering = ("position",)


class StatTableForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group_kinds"].help_text = "按显示顺序，以空格分隔，可用：" + " ".join(
            f"{kind}（{label}）" for kind, label in UnitKind.choices)

    def clean_group_kinds(self):
        """Real unit kinds, in the order the groups are shown: "县区 园区" would leave the table without rows."""
        words = self.cleaned_data["group_kinds"].replace(",", " ").replace("，", " ").replace("、", " ").split()
        labels = {str(label): kind for kind, label in UnitKind.choices}
        kinds = list(dict.fromkeys(labels.get(w, w) for w in words))
        unknown = [w for w in kinds if w not in UnitKind.values]
        if unknown or not kinds:
            choices = "、".join(f"{kind}（{label}）" for kind, label in UnitKind.choices)
            raise forms.ValidationError(f"行分组须为单位类型，按显示顺序以空格分隔，可用：{choices}。")
        return " ".join(kinds)


@admin.register(StatTable)
class StatTableAdmin(admin.ModelAdmin):
    """Adding a table or a column needs no code: columns sum categories by code, or are derived."""

    form = StatTableForm
    list_display = ("code", "name", "groups", "numbered", "show_total_row", "is_active", "order")
    list_editable = ("is_active", "order")
    inlines = [StatColumnInline]

    @admin.display(description="行分组", ordering="group_kinds")
    def groups(self, obj):
        return "、".join(str(UnitKind(kind).label) for kind in obj.kinds)


@admin.register(RollupMark)
class RollupMarkAdmin(admin.ModelAdmin):
    """Pending rollups, for operators: a mark left pending means a worker or the broker is down."""

    list_display = ("unit", "period", "pending", "requested_at", "completed_at", "attempts")
    list_filter = ("pending",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RebuildJob)
class RebuildJobAdmin(admin.ModelAdmin):
    """Full rebuilds, for operators: one left running or failed means a worker or the database is in trouble."""

    list_display = ("pk", "status", "requested_at", "started_at", "heartbeat_at", "finished_at", "attempts", "message")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IndicatorWeight)
class IndicatorWeightAdmin(admin.ModelAdmin):
    list_display = ("code", "weight")
    list_editable = ("weight",)
    ordering = ("code",)


class CityRankAdminForm(forms.ModelForm):
    class Meta:
        model = CityRank
        fields = ["period", "rank", "total_cities", "target_rank", "note"]

    def clean(self):
        data = super().clean()
        total = data.get("total_cities")
        if total and data.get("rank") and data["rank"] > total:
            self.add_error("rank", "排名不能大于参评城市数。")
        if total and data.get("target_rank") and data["target_rank"] > total:
            self.add_error("target_rank", "目标名次不能大于参评城市数。")
        if data.get("period"):
            data["period"] = data["period"].replace(day=1)
        return data


@admin.register(CityRank)
class CityRankAdmin(admin.ModelAdmin):
    form = CityRankAdminForm
    list_display = ("period", "rank", "total_cities", "target_rank", "meets_target", "note")
    date_hierarchy = "period"
    ordering = ("-period",)

    @admin.display(boolean=True, description="达到目标")
    def meets_target(self, obj):
        return obj.meets_target
