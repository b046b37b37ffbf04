import datetime
import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from .fields import BytewiseCharField, JSONTextField
from .schemas import SCHEMAS


class UnitKind(models.TextChoices):
    DEPARTMENT = "department", "市有关部门"
    COUNTY = "county", "县（市）区"
    PARK = "park", "园区"


class Unit(models.Model):
    """A data-source unit (信源单位)."""

    code = models.CharField("编码", max_length=10, unique=True)
    short_name = models.CharField("简称", max_length=50)
    name = models.CharField("全称", max_length=200)
    kind = models.CharField("类型", max_length=20, choices=UnitKind.choices)
    order = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = "信源单位"
        verbose_name_plural = "信源单位"

    def __str__(self):
        return self.short_name

    def natural_key(self):
        return (self.code,)

    def categories(self):
        return Category.objects.for_kind(self.kind)


class CategoryQuerySet(models.QuerySet):
    def for_kind(self, kind):
        return self.filter(is_active=True, applies_to__contains=kind).order_by("order", "code")


class Category(models.Model):
    """A reporting category (报送类别)."""

    class Measure(models.TextChoices):
        RECORDS = "records", "逐条记录（Excel 上传）"
        COUNT = "count", "数量（直接填报）"

    code = models.CharField("编码", max_length=60, unique=True)
    name = models.CharField("名称", max_length=100)
    measure = models.CharField("填报方式", max_length=10, choices=Measure.choices)
    schema = models.CharField(
        "记录格式", max_length=20, blank=True,
        choices=[(s.code, s.name) for s in SCHEMAS.values()],
    )
    # Space-separated unit kinds, as in categories.csv ("department county park").
    applies_to = models.CharField("适用单位类型", max_length=60)
    order = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = "报送类别"
        verbose_name_plural = "报送类别"

    def __str__(self):
        return self.name

    @property
    def is_records(self):
        return self.measure == self.Measure.RECORDS

    def get_schema(self):
        return SCHEMAS[self.schema]

    def applies_to_kind(self, kind):
        return kind in self.applies_to.split()

    def clean(self):
        # Free text once accepted "县区 园区" and detached the category from every unit: only real kinds.
        kinds = self.applies_to.split()
        unknown = [k for k in kinds if k not in UnitKind.values]
        if unknown or not kinds:
            labels = "、".join(f"{label}（{value}）" for value, label in UnitKind.choices)
            raise ValidationError({"applies_to": f"适用单位类型须从以下选择至少一种：{labels}。"})


class User(AbstractUser):
    """A portal user: a unit's reporter (unit set) or office staff (unit empty)."""

    unit = models.ForeignKey(
        Unit, verbose_name="所属单位", null=True, blank=True,
        on_delete=models.PROTECT, related_name="users",
    )
    display_name = models.CharField("姓名", max_length=50, blank=True)
    # Set for accounts whose password an administrator chose (admin form, Excel import):
    # the holder must replace it before using the portal.
    must_change_password = models.BooleanField("下次登录须修改密码", default=False)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    @property
    def is_office(self):
        """Office reviewers and admins belong to no unit."""
        return self.unit_id is None and (self.is_staff or self.has_perm("reporting.review_monthlyreport"))

    def __str__(self):
        return self.display_name or self.username


class Deadline(models.Model):
    """A per-month override of the reporting deadline and lock day."""

    period = models.DateField("报送月份", unique=True, help_text="该月第一天，如 2019-08-01")
    due_date = models.DateField("报送截止日")
    lock_date = models.DateField("锁定日", help_text="此日之后单位不能再修改，除非信用办特许")

    class Meta:
        ordering = ["-period"]
        verbose_name = "报送期限"
        verbose_name_plural = "报送期限"

    def __str__(self):
        return f"{self.period:%Y年%m月}"


def month_start(year, month):
    return datetime.date(year, month, 1)


def next_month(period):
    return datetime.date(period.year + period.month // 12, period.month % 12 + 1, 1)


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "填报中"
    SUBMITTED = "submitted", "已提交"
    ACCEPTED = "accepted", "已通过"
    RETURNED = "returned", "已退回"


class MonthlyReport(models.Model):
    """A unit's report for one month (月度报表)."""

    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT, related_name="reports")
    period = models.DateField("月份", help_text="该月第一天")
    status = models.CharField("状态", max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    first_submitted_at = models.DateTimeField("首次提交时间", null=True, blank=True)
    on_time = models.BooleanField("按时报送", null=True, blank=True)
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    return_reason = models.TextField("退回原因", blank=True)
    edit_exception_until = models.DateField(
        "特许修改截止日", null=True, blank=True, help_text="过了锁定日后，信用办允许单位修改到此日",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["-period", "unit__order"]
        verbose_name = "月度报表"
        verbose_name_plural = "月度报表"
        constraints = [
            models.UniqueConstraint(fields=["unit", "period"], name="one_report_per_unit_month"),
        ]
        permissions = [("review_monthlyreport", "审核月度报表")]

    def __str__(self):
        return f"{self.unit.short_name} {self.period:%Y年%m月}"

    def get_absolute_url(self):
        return reverse("report_detail", args=[self.unit.code, self.period.strftime("%Y-%m")])

    @property
    def period_label(self):
        return f"{self.period.year}年{self.period.month}月"

    @property
    def period_code(self):
        return self.period.strftime("%Y-%m")

    def deadlines(self):
        """(due date, lock date) for this month."""
        override = Deadline.objects.filter(period=self.period).first()
        if override:
            return override.due_date, override.lock_date
        following = next_month(self.period)
        return (
            following.replace(day=settings.REPORT_DEADLINE_DAY),
            following.replace(day=settings.REPORT_LOCK_DAY),
        )

    @property
    def due_date(self):
        return self.deadlines()[0]

    @property
    def is_editable_status(self):
        return self.status in (ReportStatus.DRAFT, ReportStatus.RETURNED)


class ReportEntry(models.Model):
    """One category of one monthly report: its records, its count, or nil."""

    report = models.ForeignKey(MonthlyReport, verbose_name="月度报表", on_delete=models.CASCADE, related_name="entries")
    category = models.ForeignKey(Category, verbose_name="类别", on_delete=models.PROTECT, related_name="+")
    count = models.PositiveIntegerField("数量", null=True, blank=True)
    is_nil = models.BooleanField("本月无数据", default=False)
    record_count = models.PositiveIntegerField("记录条数", default=0)
    current_batch = models.ForeignKey(
        "ImportBatch", verbose_name="当前导入", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["category__order"]
        verbose_name = "报表类别"
        verbose_name_plural = "报表类别"
        constraints = [
            models.UniqueConstraint(fields=["report", "category"], name="one_entry_per_report_category"),
        ]

    def __str__(self):
        return f"{self.report} {self.category}"

    @property
    def is_filled(self):
        return self.is_nil or self.count is not None or self.record_count > 0

    @property
    def value(self):
        """The number this entry contributes to statistics."""
        if self.is_nil:
            return 0
        if self.category.is_records:
            return self.record_count
        return self.count or 0


def upload_path(instance, filename):
    now = datetime.datetime.now()
    digest = instance.sha256[:16] if instance.sha256 else "nohash"
    return f"uploads/{now:%Y/%m}/{digest}/{filename}"


class ImportBatch(models.Model):
    """One upload of one file into one category of a report: job, audit, original file."""

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "处理中"
        SUCCEEDED = "succeeded", "已导入"
        FAILED = "failed", "校验未通过"
        REFUSED = "refused", "文件被拒绝"
        DUPLICATE = "duplicate", "重复文件（未重复计数）"
        INTERRUPTED = "interrupted", "处理中断"

    class Mode(models.TextChoices):
        REPLACE = "replace", "替换本类别已有记录"
        APPEND = "append", "追加到已有记录"

    report = models.ForeignKey(MonthlyReport, verbose_name="月度报表", on_delete=models.PROTECT, related_name="batches")
    category = models.ForeignKey(Category, verbose_name="类别", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", null=True, blank=True,
        on_delete=models.PROTECT, related_name="import_batches",
    )
    file = models.FileField("原始文件", upload_to=upload_path, max_length=300)
    original_name = models.CharField("文件名", max_length=255)
    size = models.PositiveBigIntegerField("文件大小", default=0)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.PENDING)
    keep_valid_rows = models.BooleanField("仅导入正确的行", default=False)
    mode = models.CharField("导入方式", max_length=10, choices=Mode.choices, default=Mode.REPLACE)
    # A month workbook (one sheet per category) gives a batch per sheet, sharing one file and group.
    sheet = models.CharField("工作表", max_length=100, blank=True)
    group = models.CharField("同批上传", max_length=32, blank=True, db_index=True)
    # Job bookkeeping: run by a worker (background) or in the request; tries; last sign of life.
    background = models.BooleanField("后台处理", default=False)
    attempts = models.PositiveSmallIntegerField("处理次数", default=0)
    started_at = models.DateTimeField("开始处理时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近进度时间", null=True, blank=True)
    is_first_upload = models.BooleanField("该类别首次上传", default=False)
    progress = models.PositiveSmallIntegerField("进度", default=0)
    total_rows = models.PositiveIntegerField("总行数", default=0)
    valid_rows = models.PositiveIntegerField("正确行数", default=0)
    imported_rows = models.PositiveIntegerField("导入行数", default=0)
    replaced_rows = models.PositiveIntegerField("替换的旧记录数", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    errors = models.JSONField("错误明细", default=list, blank=True)
    message = models.TextField("说明", blank=True)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "导入记录"
        verbose_name_plural = "导入记录"

    def __str__(self):
        return f"{self.original_name}（{self.get_status_display()}）"

    @property
    def is_finished(self):
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)

    @staticmethod
    def digest(fileobj):
        h = hashlib.sha256()
        for chunk in iter(lambda: fileobj.read(1 << 20), b""):
            h.update(chunk)
        fileobj.seek(0)
        return h.hexdigest()


class ValueSynonym(models.Model):
    """Another spelling of an enumerated field's value (证件类型 身份证 → 居民身份证), accepted on import.

    Built in from fixtures/value_synonyms.csv by load_reference; administrators add more in the admin.
    """

    class FieldKey(models.TextChoices):
        SUBJECT_TYPE = "subject_type", "行政相对人类别"
        ID_TYPE = "id_type", "证件类型"
        LICENSE_KIND = "license_kind", "许可类别"
        STATUS = "status", "当前状态"

    field = models.CharField("字段", max_length=30, choices=FieldKey.choices)
    spelling = models.CharField("写法", max_length=50)
    canonical = models.CharField("规范值", max_length=50)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        ordering = ["field", "canonical", "spelling"]
        verbose_name = "字段值同义写法"
        verbose_name_plural = "字段值同义写法"
        constraints = [models.UniqueConstraint(fields=["field", "spelling"], name="unique_synonym_spelling")]

    def __str__(self):
        return f"{self.get_field_display()}：{self.spelling} → {self.canonical}"

    def clean(self):
        from .schemas import SCHEMAS
        from .validators import normalise_spelling

        choices = next((f.choices for schema in SCHEMAS.values() for f in schema.fields if f.key == self.field), ())
        if self.canonical not in choices:
            raise ValidationError({"canonical": f"规范值必须是以下之一：{'、'.join(choices)}"})
        self.spelling = self.spelling.strip()
        if not normalise_spelling(self.spelling):
            raise ValidationError({"spelling": "写法不能为空"})


class Record(models.Model):
    """One itemised record of a records category, as validated and normalised."""

    # Tuned for COPY of 100,000-row uploads (see benchmarks/bench_import.py).  No single-column
    # indexes: (report, category, row number, id) and the unique (unit, category, 文书号) below serve
    # every query; the first gives a month's records of a category in their order without a sort (the
    # 归集 export reads a million records so: the sort cost a microsecond a record on the server).
    # No per-row foreign-key checks either: PostgreSQL checks a foreign key with one query per
    # inserted row, which cost 0.7-1.0 s of server CPU per 100,000 rows (a third of the COPY).
    # Records are written only by services.records_insert, which holds the report locked
    # (FOR KEY SHARE, as a foreign key would) in the same transaction; unit, category and batch
    # are copies of the report's unit, the validated category and the batch.  A database trigger
    # (migration 0005) refuses to delete a report that still has records, so no record is ever
    # orphaned, whatever deletes it; the ORM's PROTECT says the same first.
    report = models.ForeignKey(MonthlyReport, verbose_name="月度报表", on_delete=models.PROTECT, related_name="records",
                               db_index=False, db_constraint=False)
    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT, related_name="+", db_index=False,
                             db_constraint=False)
    category = models.ForeignKey(Category, verbose_name="类别", on_delete=models.PROTECT, related_name="+",
                                 db_index=False, db_constraint=False)
    batch = models.ForeignKey(ImportBatch, verbose_name="导入记录", on_delete=models.PROTECT, related_name="records",
                              db_index=False, db_constraint=False)
    row_number = models.PositiveIntegerField("行号")
    doc_number = BytewiseCharField("文书号", max_length=100, blank=True)
    subject_name = models.CharField("名称", max_length=200, blank=True)
    credit_code = models.CharField("统一社会信用代码", max_length=18, blank=True)
    id_number = models.CharField("证件号码", max_length=50, blank=True)
    record_date = models.DateField("日期", null=True, blank=True)
    data = JSONTextField("内容")
    # True exactly for the records of accepted months, kept so by database triggers (migration 0012):
    # the lookup's partial indexes cover only these rows, so an upload writes none of their entries.
    searchable = models.BooleanField("可查询（所在月份已审核通过）", default=False, db_default=False, editable=False)

    class Meta:
        ordering = ["row_number"]
        verbose_name = "记录"
        verbose_name_plural = "记录"
        # (unit, category) lookups are for 文书号 and use the unique index below.
        indexes = [models.Index(fields=["report", "category", "row_number", "id"], name="record_report_category_order")]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "category", "doc_number"],
                condition=~Q(doc_number=""),
                name="unique_doc_number_per_unit_category",
            ),
        ]

    def __str__(self):
        return self.subject_name


class AuditEvent(models.Model):
    """Who did what, when: every status change, count, nil declaration and import."""

    class Action(models.TextChoices):
        CREATED = "created", "创建报表"
        IMPORTED = "imported", "导入记录"
        IMPORT_FAILED = "import_failed", "导入未通过"
        IMPORT_REFUSED = "import_refused", "文件被拒绝"
        IMPORT_DUPLICATE = "import_duplicate", "重复上传"
        COUNT_SET = "count_set", "填报数量"
        NIL_DECLARED = "nil_declared", "声明本月无数据"
        NIL_UNDONE = "nil_undone", "撤销本月无数据"
        RECORD_EDITED = "record_edited", "修改记录"
        RECORD_DELETED = "record_deleted", "删除记录"
        SUBMITTED = "submitted", "提交"
        ACCEPTED = "accepted", "审核通过"
        RETURNED = "returned", "退回"
        REOPENED = "reopened", "重新打开"
        EXCEPTION = "exception", "开通特许修改"
        EXCEPTION_WITHDRAWN = "exception_withdrawn", "撤销特许修改"
        UNLOCKED = "unlocked", "解除登录锁定"

    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    action = models.CharField("操作", max_length=20, choices=Action.choices)
    report = models.ForeignKey(
        MonthlyReport, verbose_name="月度报表", null=True, blank=True,
        on_delete=models.PROTECT, related_name="audit_events",
    )
    category = models.ForeignKey(
        Category, verbose_name="类别", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    batch = models.ForeignKey(
        ImportBatch, verbose_name="导入记录", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    from_status = models.CharField("原状态", max_length=10, blank=True)
    to_status = models.CharField("新状态", max_length=10, blank=True)
    message = models.TextField("说明", blank=True)
    details = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "操作日志"
        verbose_name_plural = "操作日志"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_action_display()}"
