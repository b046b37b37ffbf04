"""The administrator's screens: which units may look (核查授权), and the lookup audit log, read-only."""

from django.contrib import admin

from reporting.admin import ReadOnlyAdmin

from .models import BatchCheck, LookupAudit, LookupGrant


@admin.register(LookupGrant)
class LookupGrantAdmin(admin.ModelAdmin):
    list_display = ("unit", "reason", "granted_by", "granted_at")
    list_select_related = ("unit", "granted_by")
    search_fields = ("unit__code", "unit__short_name", "unit__name", "reason")
    autocomplete_fields = ("unit",)
    readonly_fields = ("granted_by", "granted_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(LookupAudit)
class LookupAuditAdmin(ReadOnlyAdmin):
    """Every search, profile view, record view, credit report and batch check; never edited here."""

    list_display = ("created_at", "user", "unit", "channel", "action", "mode", "query", "subject", "hits",
                    "report_number")
    list_filter = ("action", "channel", "mode", "unit")
    search_fields = ("query", "subject", "report_number", "user__username", "user__display_name")
    date_hierarchy = "created_at"
    list_select_related = ("user", "unit")


@admin.register(BatchCheck)
class BatchCheckAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "user", "original_name", "as_of", "total_rows", "with_hits", "invalid_rows",
                    "status", "attempts", "message")
    list_filter = ("status",)
    list_select_related = ("user",)
