"""The export log in the admin, read-only: runs are written only by exports.services."""

from django.contrib import admin

from reporting.admin import ReadOnlyAdmin

from .models import ExportJob, ExportRun


@admin.register(ExportRun)
class ExportRunAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "who", "category", "period_from", "period_through", "format", "headers",
                    "since_last", "rows", "withdrawn", "sha256", "file_name")
    list_filter = ("category", "format", "since_last")
    search_fields = ("sha256", "file_name")
    date_hierarchy = "created_at"
    list_select_related = ("category", "user")

    @admin.display(description="操作人")
    def who(self, obj):
        return obj.who


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "user", "category", "period_from", "period_through", "format", "since_last",
                    "status", "attempts", "message", "file")
    list_filter = ("status", "category")
    list_select_related = ("category", "user")
