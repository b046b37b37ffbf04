"""The export log: every national-format export (归集) and what went out in it."""

import json

from django.conf import settings
from django.db import models

from credit_portal.jobs import Job
from reporting.models import Category, Unit


class ExportRun(models.Model):
    """One export_disclosure run: its range, form, the file it wrote (name and SHA-256) and who ran it."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV（UTF-8）"
        XLSX = "xlsx", "Excel（xlsx）"

    class Headers(models.TextChoices):
        CODE = "code", "字段代码（XK_…/CF_…）"
        ZH = "zh", "中文字段名"

    category = models.ForeignKey(Category, verbose_name="类别", on_delete=models.PROTECT, related_name="+")
    period_from = models.DateField("起始月份")
    period_through = models.DateField("截止月份")
    format = models.CharField("格式", max_length=4, choices=Format.choices)
    headers = models.CharField("表头", max_length=4, choices=Headers.choices, default=Headers.CODE)
    since_last = models.BooleanField("仅导出上次以来的变化", default=False)
    rows = models.PositiveIntegerField("导出条数", default=0)
    withdrawn = models.PositiveIntegerField("已删除的记录数", default=0,
                                            help_text="此前导出过、现已被更正删除的记录（不在文件中，逐条记在导出明细里）")
    sha256 = models.CharField("文件 SHA-256", max_length=64)
    size = models.PositiveBigIntegerField("文件大小（字节）", default=0)
    file_name = models.CharField("文件", max_length=500)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+", help_text="空表示命令行")
    created_at = models.DateTimeField("导出时间", auto_now_add=True, db_index=True)
    seconds = models.FloatField("耗时（秒）", default=0)
    # How its ledger's content keys were made (exports.services.content_key): runs logged before SHA-256 used MD5.
    content_hash = models.CharField("内容摘要算法", max_length=10, default="sha256", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "归集导出记录"
        verbose_name_plural = "归集导出记录"

    def __str__(self):
        return f"{self.category} {self.period_from:%Y-%m}—{self.period_through:%Y-%m}（{self.rows} 条）"

    @property
    def who(self):
        return str(self.user) if self.user_id else "命令行"


def _array_element(value):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ListField(models.Field):
    """A list of texts (`base="text"`) or of 64-bit integers with None allowed (`base="bigint"`): an array
    on PostgreSQL, JSON text elsewhere (SQLite, the zero-setup default)."""

    description = "列表"

    def __init__(self, *args, base="text", **kwargs):
        if base not in ("text", "bigint"):
            raise ValueError(f"ListField base must be text or bigint, not {base!r}")
        self.base = base
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["base"] = self.base
        return name, path, args, kwargs

    def db_type(self, connection):
        return f"{self.base}[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":  # an array literal, typed by its column (even all NULL)
            return "{" + ",".join(map(_array_element, value)) + "}"
        return json.dumps(list(value), ensure_ascii=False)

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)

    def to_python(self, value):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)


class ExportLedger(models.Model):
    """What went out, kept compactly: records of one unit and month in one run, as two lists of the same
    length — their 文书号 and their content keys.  (One row per record cost the export more than a second
    of server time per million records; a million records are now about 800 rows.)

    A record's identity is (unit, 文书号; the category is the run's).  Its content key is the first 64 bits
    of the SHA-256 (the run's content_hash) of its stored content (its JSON text), signed; a None key
    marks a withdrawal: a record that went out before and has since been deleted by a correction.
    The latest entry of an identity is its state on the provincial platform (exports.services).
    `count` is the lists' length.
    """

    run = models.ForeignKey(ExportRun, verbose_name="导出", on_delete=models.CASCADE, related_name="ledger")
    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    period = models.DateField("月份")
    count = models.PositiveIntegerField("条数")
    doc_numbers = ListField("文书号", base="text")
    content_keys = ListField("内容摘要", base="bigint")

    class Meta:
        verbose_name = "归集导出明细"
        verbose_name_plural = "归集导出明细"

    def __str__(self):
        return f"{self.unit_id} {self.period:%Y-%m}（{self.count} 条）"

    def entries(self):
        """(文书号, content key or None) of each record."""
        return list(zip(self.doc_numbers, self.content_keys, strict=True))


class ExportJob(Job):
    """An export the office started from the page (/exports/), run by a worker; the file stays in MEDIA_ROOT."""

    task = "exports.tasks.run_export_job"
    max_attempts = 2

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, verbose_name="类别", on_delete=models.PROTECT, related_name="+")
    period_from = models.DateField("起始月份")
    period_through = models.DateField("截止月份")
    format = models.CharField("格式", max_length=4, choices=ExportRun.Format.choices)
    headers = models.CharField("表头", max_length=4, choices=ExportRun.Headers.choices,
                               default=ExportRun.Headers.CODE)
    since_last = models.BooleanField("仅导出上次以来的变化", default=False)
    run = models.ForeignKey(ExportRun, verbose_name="导出记录", null=True, blank=True, on_delete=models.PROTECT,
                            related_name="+")
    file = models.CharField("文件（MEDIA_ROOT 下）", max_length=300, blank=True)

    class Meta(Job.Meta):
        verbose_name = "归集导出任务"
        verbose_name_plural = "归集导出任务"
