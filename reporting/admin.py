"""The administrator's screens: reference data, users, deadlines, and read-only views of the trail.

Reports, imports, records and audit events are written only by the services
(uploads, review); here they are read.  The one change allowed on a report —
an edit exception after the lock day — goes through the service, so it is
audited like everywhere else.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.utils import timezone
from django.utils.html import format_html_join
from import_export.admin import ImportExportMixin, ImportExportModelAdmin

from . import services
from .models import (
    AuditEvent,
    Category,
    Deadline,
    ImportBatch,
    MonthlyReport,
    Record,
    ReportEntry,
    Unit,
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


class SpreadsheetMixin:
    """Excel import/export: importing needs the right to add and change, exporting the right to view."""

    import_formats = FORMATS
    export_formats = FORMATS

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


@admin.register(Unit)
class UnitAdmin(SpreadsheetMixin, ImportExportModelAdmin):
    resource_classes = [UnitResource]
    list_display = ("code", "short_name", "name", "kind", "order", "is_active")
    list_display_links = ("code", "short_name")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "short_name", "name")


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["code", "name", "measure", "schema", "applies_to", "order", "is_active"]

    def clean(self):
        cleaned = super().clean()
        for field, message in category_errors(Category(**{
            "measure": cleaned.get("measure"), "schema": cleaned.get("schema") or "",
        })).items():
            self.add_error(field, message)
        return cleaned


@admin.register(Category)
class CategoryAdmin(SpreadsheetMixin, ImportExportModelAdmin):
    form = CategoryForm
    resource_classes = [CategoryResource]
    list_display = ("code", "name", "measure", "schema", "applies_to", "order", "is_active")
    list_display_links = ("code", "name")
    list_filter = ("measure", "schema", "is_active")
    search_fields = ("code", "name")


@admin.register(ValueSynonym)
class ValueSynonymAdmin(SpreadsheetMixin, ImportExportModelAdmin):
    """Spellings of enumerated values that imports accept (身份证 → 居民身份证); effective at the next upload."""

    resource_classes = [ValueSynonymResource]
    list_display = ("field", "spelling", "canonical", "note")
    list_filter = ("field", "canonical")
    search_fields = ("spelling", "canonical", "note")


class TemporaryPasswordForm(AdminPasswordChangeForm):
    """A password the administrator sets is temporary: its holder replaces it at the next login."""

    def save(self, commit=True):
        self.user.must_change_password = True
        return super().save(commit=commit)


@admin.register(User)
class UserAdmin(SpreadsheetMixin, ImportExportMixin, DjangoUserAdmin):
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
        return cleaned


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    form = DeadlineForm
    list_display = ("period", "due_date", "lock_date")


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


class AuditEventInline(admin.TabularInline):
    model = AuditEvent
    fields = ("created_at", "actor", "action", "category", "from_status", "to_status", "message")
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
    list_display = ("unit", "period", "status", "on_time", "submitted_at", "reviewed_by")
    list_filter = ("status", "unit__kind", ("period", admin.AllValuesFieldListFilter))
    search_fields = ("unit__code", "unit__short_name", "unit__name")
    list_select_related = ("unit", "reviewed_by")
    readonly_fields = (
        "unit", "period", "status", "submitted_at", "first_submitted_at", "on_time", "reviewed_at",
        "reviewed_by", "return_reason", "created_at", "updated_at",
    )
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


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "report", "category", "from_status", "to_status", "message")
    list_filter = ("action",)
    search_fields = ("message", "actor__username", "report__unit__code", "report__unit__short_name")
    list_select_related = ("actor", "report__unit", "category")
    date_hierarchy = "created_at"
