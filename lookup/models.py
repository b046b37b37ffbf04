from django.conf import settings
from django.db import models

from credit_portal.jobs import Job
from reporting.models import Unit


class LookupGrant(models.Model):
    """A unit whose staff may run credit lookups and checks (核查), e.g. a department that runs 联合奖惩.

    The office may always look; every other unit needs a grant from an administrator.
    """

    unit = models.OneToOneField(Unit, verbose_name="单位", on_delete=models.CASCADE, related_name="lookup_grant")
    reason = models.CharField("授权依据", max_length=200, blank=True, help_text="如：负责招投标联合奖惩核查")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="授权人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField("授权时间", auto_now_add=True)

    class Meta:
        ordering = ["unit__order", "unit__code"]
        verbose_name = "信用核查授权"
        verbose_name_plural = "信用核查授权"

    def __str__(self):
        return f"{self.unit}（可查询核查）"


class LookupAudit(models.Model):
    """One lookup of a person or company: who, when, what was asked, how many hits.  Never changed."""

    class Action(models.TextChoices):
        SEARCH = "search", "查询"
        PROFILE = "profile", "查看主体信用档案"
        RECORD = "record", "查看记录"
        REPORT = "report", "出具信用报告"
        BATCH = "batch", "批量核查"

    class Channel(models.TextChoices):
        WEB = "web", "网页"
        CLI = "cli", "命令行"

    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="查询人", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, verbose_name="查询人单位", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", help_text="空：信用办或命令行")
    channel = models.CharField("途径", max_length=5, choices=Channel.choices, default=Channel.WEB)
    action = models.CharField("操作", max_length=10, choices=Action.choices)
    mode = models.CharField("查询方式", max_length=10, blank=True)
    query = models.CharField("查询内容", max_length=300, blank=True)
    subject = models.CharField("主体", max_length=200, blank=True)
    hits = models.PositiveIntegerField("命中数", default=0)
    report_number = models.CharField("报告编号", max_length=30, blank=True, db_index=True)
    details = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "查询日志"
        verbose_name_plural = "查询日志"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.query or self.subject}"


class BatchCheck(Job):
    """A list of subjects checked in the background (批量核查): input file, progress, result workbook."""

    task = "lookup.tasks.run_batch_check"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    file = models.FileField("名单文件", upload_to="lookup/batch/%Y/%m/", max_length=300)
    original_name = models.CharField("文件名", max_length=255)
    as_of = models.DateField("核查基准日")
    total_rows = models.PositiveIntegerField("名单行数", default=0)
    done_rows = models.PositiveIntegerField("已核查行数", default=0)
    with_hits = models.PositiveIntegerField("有记录行数", default=0)
    invalid_rows = models.PositiveIntegerField("代码无效行数", default=0)
    result = models.FileField("核查结果", upload_to="lookup/results/%Y/%m/", max_length=300, blank=True)

    class Meta(Job.Meta):
        verbose_name = "批量核查"
        verbose_name_plural = "批量核查"

    @property
    def percent(self):
        return min(100, self.done_rows * 100 // self.total_rows) if self.total_rows else 0
