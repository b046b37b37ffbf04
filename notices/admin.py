"""The administrator's screens: unit contacts (with Excel import/export), the reminder schedule,
and read-only views of what was sent."""

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from reporting.admin import ReadOnlyAdmin, SpreadsheetMixin

from .models import Notification, ReminderJob, ReminderLog, ReminderRule, UnitContact
from .resources import UnitContactResource


@admin.register(UnitContact)
class UnitContactAdmin(SpreadsheetMixin, ImportExportModelAdmin):
    resource_classes = [UnitContactResource]
    list_display = ("unit", "person", "phone", "emails", "updated_at")
    list_filter = ("unit__kind",)
    search_fields = ("unit__code", "unit__short_name", "unit__name", "person", "phone", "emails")
    list_select_related = ("unit",)


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "days", "is_active", "note")
    list_editable = ("is_active",)
    list_filter = ("kind", "is_active")


@admin.register(ReminderLog)
class ReminderLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "unit", "period", "kind", "source", "actor", "status_at_send", "inbox_count",
                    "email_status")
    list_filter = ("kind", "source", "email_status", "period")
    search_fields = ("unit__code", "unit__short_name", "title")
    date_hierarchy = "created_at"
    list_select_related = ("unit", "actor")


@admin.register(ReminderJob)
class ReminderJobAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "period", "kind", "source", "actor", "status", "attempts", "message")
    list_filter = ("status", "source")
    list_select_related = ("actor",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "unit", "period", "title", "read_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "unit__code", "title")
    list_select_related = ("recipient", "unit")
