"""Reads of the notices app.  Every inbox read starts from the user: a message is found only in its recipient's."""

from django.utils import timezone

from reporting.models import MonthlyReport, ReportStatus
from reporting.selectors import deadline_for

from .models import Notification, ReminderJob, ReminderLog
from .services import reminder_targets

STATUS_LABELS = {**dict(ReportStatus.choices), "missing": "未报送"}


def inbox(user, *, unread_only=False):
    messages = Notification.objects.filter(recipient=user).select_related("unit")
    return messages.filter(read_at__isnull=True) if unread_only else messages


def unread_count(user):
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def reminder_candidates(period, *, kind=""):
    """The units a 催报 for the month would reach, with their state, contact and the month's reminders so far.

    Rows: (unit, report status or "missing", its label, is overdue, contact, [ReminderLog of the month]).
    """
    today = timezone.localdate()
    due_date = deadline_for(period)[0]
    units = reminder_targets(period).order_by("order", "code")
    if kind:
        units = units.filter(kind=kind)
    statuses = dict(MonthlyReport.objects.filter(period=period).values_list("unit_id", "status"))
    logs = {}
    for log in ReminderLog.objects.filter(period=period).select_related("actor").order_by("-created_at"):
        logs.setdefault(log.unit_id, []).append(log)
    overdue = today > due_date
    rows = []
    for unit in units:
        status = statuses.get(unit.pk, "missing")
        rows.append((unit, status, STATUS_LABELS[status], overdue, getattr(unit, "contact", None), logs.get(unit.pk, [])))
    return rows


def reminder_history(period, *, limit=200):
    return ReminderLog.objects.filter(period=period).select_related("unit", "actor")[:limit]


def recent_jobs(limit=10):
    return ReminderJob.objects.select_related("actor")[:limit]


