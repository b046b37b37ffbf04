"""The administrator's screens: reference data, users, deadlines, and read-only views of the trail.

Reports, imports, records and audit events are written only by the services
(uploads, review); here they are read.  The one change allowed on a report —
an edit exception after the lock day — goes through the service, so it is
audited like everywhere else.
"""

import re

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from import_export.admin import ImportExportMixin, ImportExportModelAdmin
from import_export.forms import SelectableFieldsExportForm

from . import services
from .models import (
    AuditEvent,
    Category,
    Deadline,
    ImportBatch,
    MonthlyReport,
    Record,
    ReportEntry,
    ReportStatus,
    Unit,
    UnitKind,
    User,
    ValueSynonym,
)
from .resources import (
    FORMATS,
    CategoryResource,
    UnitResource,
    UserResource,
    ValueSynonymResource,
    WorkbookRefused,
    category_errors,
)


class ChineseExportForm(SelectableFieldsExportForm):
    """The export page's field checkboxes labelled by their Chinese column ("编码"), not "Code (编码)"."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return field.column_name if field and field.column_name else field_name


class SpreadsheetMixin:
    """Excel import/export: importing needs the right to add and change, exporting the right to view."""

    import_formats = FORMATS
    export_formats = FORMATS
    export_form_class = ChineseExportForm

    def get_export_filename(self, request, queryset, file_format):
        return f"{self.model._meta.verbose_name_plural}-{timezone.localdate():%Y%m%d}.{file_format.get_extension()}"

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        # import-export writes filename="…" as is, which garbles a Chinese name: RFC 6266's filename* instead.
        response = super()._do_file_export(file_format, request, queryset, export_form=export_form)
        filename = self.get_export_filename(request, queryset, file_format)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
        return response

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, WorkbookRefused):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services: shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- reference data ---------------------------------------------------------------


UNIT_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
CATEGORY_CODE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


class UnitForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = ["code", "short_name", "name", "kind", "order", "is_active"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        if not UNIT_CODE.match(code):  # it is part of every URL of the unit's reports
            raise forms.ValidationError("编码只能包含英文字母和数字，以字母开头，最多 10 位，如 D01。")
        return code

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        unit = self.instance
        if unit.pk and kind != unit.kind and unit.reports.exists():
            raise forms.ValidationError(
                "该单位已有月度报表，不能更改单位类型（报送类别和统计表都按类型确定）。"
                "如确需调整，请新建单位并停用本单位。"
            )
        return kind


@admin.register(Unit)
class UnitAdmin(SpreadsheetMixin, ImportExportModelAdmin):
    form = UnitForm
    resource_classes = [UnitResource]
    list_display = ("code", "short_name", "name", "kind", "order", "is_active")
    list_display_links = ("code", "short_name")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "short_name", "name")


class KindsField(forms.MultipleChoiceField):
    """Category.applies_to ("department county park") as ticks of the real unit kinds."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=UnitKind.choices, error_messages={"required": "请至少选择一种适用单位类型。",
                                                                   "invalid_choice": "“%(value)s”不是单位类型。"},
                         **kwargs)

    def prepare_value(self, value):
        return value.split() if isinstance(value, str) else value

    def clean(self, value):
        kinds = super().clean(value)
        return " ".join(kind for kind in UnitKind.values if kind in kinds)


class CategoryForm(forms.ModelForm):
    applies_to = KindsField(label="适用单位类型", help_text="该类别由哪些类型的单位报送。")

    class Meta:
        model = Category
        fields = ["code", "name", "measure", "schema", "applies_to", "order", "is_active"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not CATEGORY_CODE.match(code):  # statistics tables name their columns' categories by code
            raise forms.ValidationError("编码只能包含小写英文字母、数字和下划线，以字母开头，如 admin_license。")
        return code

    def clean(self):
        cleaned = super().clean()
        for field, message in category_errors(Category(**{
            "measure": cleaned.get("measure"), "schema": cleaned.get("schema") or "",
        })).items():
            self.add_error(field, message)
        category = self.instance
        if category.pk:
            used = ReportEntry.objects.filter(category=category).exclude(record_count=0, count=None).exists()
            for field in ("measure", "schema"):
                if field in self.changed_data and used and field not in self.errors:
                    self.add_error(field, "已有单位报送过该类别的数据，不能更改填报方式或记录格式（会使已报数据无法解读）。"
                                          "如需调整，请新建类别并停用本类别。")
        return cleaned


@admin.register(Category)
class CategoryAdmin(SpreadsheetMixin, ImportExportModelAdmin):
    form = CategoryForm
    resource_classes = [CategoryResource]
    list_display = ("code", "name", "measure", "schema", "kinds", "order", "is_active")
    list_display_links = ("code", "name")
    list_filter = ("measure", "schema", "is_active")
    search_fields = ("code", "name")

    @admin.display(description="适用单位类型")
    def kinds(self, obj):
        return "、".join(str(UnitKind(kind).label) for kind in obj.applies_to.split() if kind in UnitKind.values)

    def get_readonly_fields(self, request, obj=None):
        # Statistics tables and uploads know a category by its code: it never changes once created.
        return ("code",) if obj is not None else ()


@admin.register(ValueSynonym)
class ValueSynonymAdmin(SpreadsheetMixin, ImportExportModelAdmin):
    """Spellings of enumerated values that imports accept (身份证 → 居民身份证); effective at the next upload."""

    resource_classes = [ValueSynonymResource]
    list_display = ("field", "spelling", "canonical", "note")
    list_filter = ("field", "canonical")
    search_fields = ("spelling", "canonical", "note")


def permission_label(permission):
    """A permission in Chinese: Django names its own "Can add log entry" in English, whatever the language."""
    content_type = permission.content_type
    model = content_type.model_class()
    verbose = model._meta.verbose_name if model is not None else content_type.model
    action, _, model_name = permission.codename.partition("_")
    actions = {"add": "新增", "change": "修改", "delete": "删除", "view": "查看"}
    name = f"{actions[action]}{verbose}" if action in actions and model_name == content_type.model else permission.name
    app = content_type.app_label
    try:
        from django.apps import apps

        app = apps.get_app_config(app).verbose_name
    except LookupError:
        pass
    return f"{app} | {verbose} | {name}"


class ChinesePermissionsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return permission_label(obj)


class ChinesePermissionsMixin:
    """The permission pickers of the user and group pages, labelled in Chinese."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in ("permissions", "user_permissions"):
            kwargs["form_class"] = ChinesePermissionsField
            kwargs.setdefault("queryset", db_field.remote_field.model.objects.select_related("content_type"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ChinesePermissionsMixin, DjangoGroupAdmin):
    pass


class TemporaryPasswordForm(AdminPasswordChangeForm):
    """A password the administrator sets is temporary: its holder replaces it at the next login."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django builds this help text once, at import, in English (a lazy text joined to a plain one).
        self.fields["usable_password"].help_text = format_html(
            "{}<ul id=\"id_unusable_warning\" class=\"messagelist\"><li class=\"warning\">{}</li></ul>",
            "是否允许该用户用密码登录。", "如选择停用，该用户当前的密码将失效。",
        )

    def save(self, commit=True):
        self.user.must_change_password = True
        return super().save(commit=commit)


@admin.register(User)
class UserAdmin(ChinesePermissionsMixin, SpreadsheetMixin, ImportExportMixin, DjangoUserAdmin):
    resource_classes = [UserResource]
    change_password_form = TemporaryPasswordForm
    fieldsets = (
        (None, {"fields": ("username", "password", "must_change_password")}),
        ("所属单位", {"fields": ("unit", "display_name"), "description": "单位填报员选择所属单位；信用办人员不选单位。"}),
        *DjangoUserAdmin.fieldsets[1:],
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        ("所属单位", {"classes": ("wide",), "fields": ("unit", "display_name")}),
    )
    list_display = ("username", "display_name", "unit", "is_staff", "is_active", "last_login")
    list_filter = ("unit__kind", "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("username", "display_name", "email", "unit__code", "unit__short_name")
    list_select_related = ("unit",)
    autocomplete_fields = ("unit",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.must_change_password = True  # the administrator chose the first password
        super().save_model(request, obj, form, change)


class DeadlineForm(forms.ModelForm):
    class Meta:
        model = Deadline
        fields = ["period", "due_date", "lock_date"]

    def clean_period(self):
        return self.cleaned_data["period"].replace(day=1)

    def clean(self):
        cleaned = super().clean()
        due, lock = cleaned.get("due_date"), cleaned.get("lock_date")
        if due and lock and lock < due:
            self.add_error("lock_date", "锁定日不能早于报送截止日。")
        period = cleaned.get("period")
        if period and due and due < period:  # every report of the month would be late before it began
            self.add_error("due_date", f"报送截止日不能早于报送月份（{period.year}年{period.month}月）本身。")
        return cleaned


def month_label(period):
    return f"{period.year}年{period.month}月" if period else "—"


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    form = DeadlineForm
    list_display = ("month", "due_date", "lock_date")

    @admin.display(description="报送月份", ordering="period")
    def month(self, obj):
        return month_label(obj.period)


class MonthFilter(admin.SimpleListFilter):
    """Reports by month, written 2026年11月 (a date filter would say 2026年11月1日)."""

    title = "月份"
    parameter_name = "month"

    def lookups(self, request, model_admin):
        periods = MonthlyReport.objects.order_by("-period").values_list("period", flat=True).distinct()
        return [(period.strftime("%Y-%m"), month_label(period)) for period in periods]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            year, month = (int(part) for part in self.value().split("-"))
        except ValueError:
            return queryset.none()
        return queryset.filter(period__year=year, period__month=month)


def status_label(code):
    return ReportStatus(code).label if code in ReportStatus.values else (code or "—")


DETAIL_LABELS = {
    "file": "文件", "sha256": "SHA-256", "rows": "导入行数", "total_rows": "数据行数", "errors": "错误数",
    "replaced": "替换的旧记录数", "mode": "导入方式", "sheet": "工作表", "old": "原值", "new": "新值",
    "until": "特许修改至", "previous": "原截止日", "reason": "原因", "record": "记录编号", "row": "行号",
    "changes": "改动", "subject": "名称", "doc_number": "文书号", "data": "内容", "attempts": "处理次数",
    "username": "用户名", "ip_address": "IP 地址",
}


def details_html(details):
    if not details:
        return "—"
    return format_html_join("\n", "<div>{}：{}</div>", ((DETAIL_LABELS.get(key, key), _detail(value))
                                                        for key, value in details.items()))


def _detail(value):
    if isinstance(value, dict):
        return "；".join(f"{k}：{_detail(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " → ".join(_detail(v) for v in value)
    if value in (None, ""):
        return "（空）"
    return {"replace": "替换", "append": "追加"}.get(value, value) if isinstance(value, str) else str(value)


# --- monthly reports and what happened to them --------------------------------------


class ReportEntryInline(admin.TabularInline):
    model = ReportEntry
    fields = ("category", "record_count", "count", "is_nil", "current_batch", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StatusLabels:
    @admin.display(description="原状态")
    def from_label(self, obj):
        return status_label(obj.from_status)

    @admin.display(description="新状态")
    def to_label(self, obj):
        return status_label(obj.to_status)


class AuditEventInline(StatusLabels, admin.TabularInline):
    model = AuditEvent
    fields = ("created_at", "actor", "action", "category", "from_label", "to_label", "message")
    readonly_fields = fields
    ordering = ("created_at", "id")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MonthlyReportForm(forms.ModelForm):
    class Meta:
        model = MonthlyReport
        fields = ["edit_exception_until"]

    def clean_edit_exception_until(self):
        until = self.cleaned_data["edit_exception_until"]
        if until and "edit_exception_until" in self.changed_data and until < timezone.localdate():
            raise forms.ValidationError(f"特许修改截止日（{until:%Y-%m-%d}）已过，请选择今天或以后的日期。")
        return until


@admin.register(MonthlyReport)
class MonthlyReportAdmin(admin.ModelAdmin):
    form = MonthlyReportForm
    list_display = ("unit", "month", "status", "on_time", "submitted_at", "reviewed_by")
    list_filter = ("status", "unit__kind", MonthFilter)
    search_fields = ("unit__code", "unit__short_name", "unit__name")
    list_select_related = ("unit", "reviewed_by")
    readonly_fields = (
        "unit", "month", "status", "submitted_at", "first_submitted_at", "on_time", "reviewed_at",
        "reviewed_by", "return_reason", "created_at", "updated_at",
    )

    @admin.display(description="月份", ordering="period")
    def month(self, obj):
        return month_label(obj.period)
    fields = readonly_fields[:10] + ("edit_exception_until",) + readonly_fields[10:]
    inlines = [ReportEntryInline, AuditEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "edit_exception_until" not in form.changed_data:
            return
        if obj.edit_exception_until:
            services.report_grant_exception(report=obj, user=request.user, until=obj.edit_exception_until)
        else:
            obj.save(update_fields=["edit_exception_until", "updated_at"])
            services.audit(action=AuditEvent.Action.EXCEPTION, user=request.user, report=obj, message="取消特许修改")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ("original_name", "report", "category", "user", "status", "mode", "total_rows", "imported_rows",
                    "error_count", "created_at")
    list_filter = ("status", "mode", "is_first_upload", "keep_valid_rows", "background", "category")
    search_fields = ("original_name", "sha256", "report__unit__code", "report__unit__short_name")
    list_select_related = ("report__unit", "category", "user")
    date_hierarchy = "created_at"
    exclude = ("errors",)  # up to the first 1,000 rows' errors: the first ones are shown below
    readonly_fields = ("first_errors",)

    @admin.display(description="错误明细（前 50 条）")
    def first_errors(self, obj):
        return format_html_join(
            "\n", "<div>第 {} 行【{}】{}</div>",
            ((e.get("row"), e.get("column"), e.get("message")) for e in obj.errors[:50]),
        ) or "—"


@admin.register(Record)
class RecordAdmin(ReadOnlyAdmin):
    list_display = ("subject_name", "doc_number", "unit", "category", "report", "row_number", "record_date")
    list_filter = ("category", "unit__kind")
    search_fields = ("subject_name", "doc_number", "credit_code")
    list_select_related = ("unit", "category", "report__unit")
    show_full_result_count = False
    exclude = ("data",)
    readonly_fields = ("contents",)

    @admin.display(description="内容")
    def contents(self, obj):
        """The record's fields under their Chinese headers (the stored JSON has English keys)."""
        fields = obj.category.get_schema().fields if obj.category.schema else ()
        headers = {f.key: f.header for f in fields}
        return format_html_join("\n", "<div><strong>{}</strong>：{}</div>",
                                ((headers.get(key, key), value if value not in (None, "") else "—")
                                 for key, value in obj.data.items()))


@admin.register(AuditEvent)
class AuditEventAdmin(StatusLabels, ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "report", "category", "from_label", "to_label", "message")
    list_filter = ("action",)
    search_fields = ("message", "actor__username", "report__unit__code", "report__unit__short_name")
    list_select_related = ("actor", "report__unit", "category")
    date_hierarchy = "created_at"
    exclude = ("details", "from_status", "to_status")
    readonly_fields = ("from_label", "to_label", "details_shown")

    @admin.display(description="详情")
    def details_shown(self, obj):
        return details_html(obj.details)
