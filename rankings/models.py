"""Statistics rolled up from accepted monthly reports, and the table layouts that show them."""

from django.db import models

from credit_portal.jobs import Job
from reporting.models import Category, Unit, UnitKind

MONTHLY_REPORTS = "=monthly_reports"
ROW_TOTAL = "=row_total"
DERIVED_SOURCES = {MONTHLY_REPORTS: "已通过的月度报表数", ROW_TOTAL: "本行各类别列之和"}


class StatTable(models.Model):
    """A statistics table layout (统计表), e.g. the two tables of the bulletin."""

    code = models.CharField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100)
    title_template = models.CharField(
        "标题模板", max_length=200,
        help_text="可用占位符：{年}、{起}（起始月）、{止} 或 {N}（截止月），如 {年}年{起}—{止}月份……统计表",
    )
    group_kinds = models.CharField(
        "行分组（单位类型，按顺序）", max_length=60, default="county park",
        help_text="以空格分隔：department county park",
    )
    show_group_headers = models.BooleanField("显示分组标题行", default=True)
    numbered = models.BooleanField("显示序号", default=False)
    show_total_row = models.BooleanField("显示合计行（表头下）", default=False)
    order = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = "统计表"
        verbose_name_plural = "统计表"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("stat_table", args=[self.code])

    @property
    def kinds(self):
        return [k for k in self.group_kinds.split() if k in UnitKind.values]

    def title(self, *, year, first, last):
        return (
            self.title_template.replace("{年}", str(year)).replace("{起}", str(first))
            .replace("{止}", str(last)).replace("{N}", str(last))
        )


class StatColumn(models.Model):
    """A column: the sum of one or more categories, or a derived value."""

    table = models.ForeignKey(StatTable, verbose_name="统计表", on_delete=models.CASCADE, related_name="columns")
    position = models.PositiveIntegerField("位置")
    label = models.CharField("列名", max_length=100)
    source = models.CharField(
        "数据来源", max_length=300,
        help_text="类别编码，多个用 + 相加（如 admin_license+admin_penalty）；"
                  "或 =monthly_reports（已通过的月度报表数）、=row_total（本行各类别列之和）",
    )

    class Meta:
        ordering = ["table", "position"]
        verbose_name = "统计列"
        verbose_name_plural = "统计列"
        constraints = [
            models.UniqueConstraint(fields=["table", "position"], name="unique_column_position"),
            models.UniqueConstraint(fields=["table", "label"], name="unique_column_label"),
        ]

    def __str__(self):
        return self.label

    @property
    def is_derived(self):
        return self.source.startswith("=")

    @property
    def category_codes(self):
        return [] if self.is_derived else [c.strip() for c in self.source.split("+") if c.strip()]

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.is_derived:
            if self.source not in DERIVED_SOURCES:
                raise ValidationError({"source": f"未知的派生列“{self.source}”，可用：{'、'.join(DERIVED_SOURCES)}"})
            return
        codes = self.category_codes
        known = set(Category.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [c for c in codes if c not in known]
        if not codes or unknown:
            raise ValidationError({"source": f"未知的类别编码：{'、'.join(unknown) or '（空）'}"})


class CategoryStat(models.Model):
    """Value of one category for one unit and month, from its accepted report."""

    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, verbose_name="类别", on_delete=models.CASCADE, related_name="+")
    period = models.DateField("月份")
    value = models.PositiveIntegerField("数值")

    class Meta:
        verbose_name = "类别统计"
        verbose_name_plural = "类别统计"
        constraints = [
            models.UniqueConstraint(fields=["unit", "category", "period"], name="one_stat_per_unit_category_month"),
        ]
        indexes = [models.Index(fields=["period", "unit"])]

    def __str__(self):
        return f"{self.unit_id} {self.category_id} {self.period:%Y-%m}: {self.value}"


class ReportStat(models.Model):
    """Facts of one unit's monthly report, as of the last rollup."""

    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.CASCADE, related_name="+")
    period = models.DateField("月份")
    submitted = models.BooleanField("已提交")
    on_time = models.BooleanField("按时报送", null=True)
    accepted = models.BooleanField("已通过")
    # 双公示及时率: license and penalty records, and those reported within 7 working days.
    disclosure_total = models.PositiveIntegerField("双公示记录数", default=0)
    disclosure_timely = models.PositiveIntegerField("按时报送的双公示记录数", default=0)
    disclosure_unknown = models.PositiveIntegerField("无法判断及时性的记录数", default=0,
                                                     help_text="日期超出节假日日历数据范围")
    # 合规率: rows of each category's first upload, and those that passed validation.
    first_rows_total = models.PositiveIntegerField("首次上传行数", default=0)
    first_rows_valid = models.PositiveIntegerField("首次上传通过行数", default=0)

    class Meta:
        verbose_name = "报表统计"
        verbose_name_plural = "报表统计"
        constraints = [
            models.UniqueConstraint(fields=["unit", "period"], name="one_report_stat_per_unit_month"),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.period:%Y-%m}"


class RollupMark(models.Model):
    """A (unit, month) whose statistics must be recomputed.

    Written in the same transaction as the change that requires it, so the
    work survives a broker outage; the sweep re-enqueues what stays pending.
    """

    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.CASCADE, related_name="+")
    period = models.DateField("月份")
    pending = models.BooleanField("待汇总", default=True, db_index=True)
    requested_at = models.DateTimeField("请求时间")
    completed_at = models.DateTimeField("完成时间", null=True, blank=True)
    attempts = models.PositiveIntegerField("执行次数", default=0)

    class Meta:
        verbose_name = "汇总标记"
        verbose_name_plural = "汇总标记"
        constraints = [
            models.UniqueConstraint(fields=["unit", "period"], name="one_rollup_mark_per_unit_month"),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.period:%Y-%m} {'待汇总' if self.pending else '已完成'}"


class RebuildJob(Job):
    """A full statistics rebuild, requested by the nightly schedule or an operator (see credit_portal/jobs.py)."""

    task = "rankings.tasks.run_rebuild_job"

    class Meta(Job.Meta):
        verbose_name = "统计全量重算任务"
        verbose_name_plural = "统计全量重算任务"


class IndicatorWeight(models.Model):
    """The weight of one indicator in the composite score (edited by admins)."""

    code = models.CharField("指标", max_length=20, unique=True, choices=[
        ("completeness", "报送完整率"), ("on_time", "按时报送率"), ("disclosure", "双公示及时率"),
        ("compliance", "合规率"), ("volume", "报送量"),
    ])
    weight = models.PositiveSmallIntegerField("权重", help_text="各指标按权重加权平均得到 0–100 的综合得分")

    class Meta:
        ordering = ["code"]
        verbose_name = "评分权重"
        verbose_name_plural = "评分权重"

    def __str__(self):
        return f"{self.get_code_display()}：{self.weight}"


class CityRank(models.Model):
    """The city's national monitoring rank (城市信用监测排名) for a month, entered by the office."""

    period = models.DateField("月份", unique=True, help_text="该月第一天")
    rank = models.PositiveIntegerField("排名")
    total_cities = models.PositiveIntegerField("参评城市数")
    target_rank = models.PositiveIntegerField("目标名次", help_text="如目标为“前50名”，填 50")
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        ordering = ["period"]
        verbose_name = "城市信用监测排名"
        verbose_name_plural = "城市信用监测排名"

    def __str__(self):
        return f"{self.period:%Y年%m月} 第{self.rank}名/{self.total_cities}"

    @property
    def meets_target(self):
        return self.rank <= self.target_rank
