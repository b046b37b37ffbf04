"""Selectors: the read side of the reporting app.

Every queryset a view shows starts from the user: a unit's reporter sees only
their own unit, the office sees every unit.  Scoping happens here, in the
queryset, so a row the user may not see is simply not found (a 404).
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from .models import (
    AuditEvent,
    Category,
    ImportBatch,
    MonthlyReport,
    Record,
    ReportEntry,
    ReportStatus,
    Unit,
    UnitKind,
    month_start,
    next_month,
)

# The order the office reads its units in (as the bulletin's tables do).
KIND_ORDER = (UnitKind.COUNTY, UnitKind.PARK, UnitKind.DEPARTMENT)


def units_visible_to(user):
    if user.is_office:
        return Unit.objects.all()
    if user.unit_id is None:
        return Unit.objects.none()
    return Unit.objects.filter(pk=user.unit_id)


def reports_visible_to(user):
    return MonthlyReport.objects.filter(unit__in=units_visible_to(user)).select_related("unit", "reviewed_by")


def batches_visible_to(user):
    return ImportBatch.objects.filter(report__unit__in=units_visible_to(user)).select_related(
        "report__unit", "category", "user"
    )


def previous_month(period):
    return (period.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def current_month():
    return timezone.localdate().replace(day=1)


def is_future(period):
    return period > current_month()


def deadline_for(period):
    """(due date, lock date) of a month, whether or not any report exists for it."""
    return MonthlyReport(period=period).deadlines()


# --- a unit's home -------------------------------------------------------------


@dataclass
class MonthCell:
    period: datetime.date
    report: MonthlyReport | None
    due_date: datetime.date
    is_future: bool
    lock_date: datetime.date | None = None
    # Why the home page proposes this month: "returned", "exception" (特许修改) or "open".
    reason: str = ""

    @property
    def is_overdue(self):
        not_sent = self.report is None or self.report.first_submitted_at is None
        return not_sent and not self.is_future and timezone.localdate() > self.due_date

    @property
    def is_open(self):
        """Whether the unit can change the month now: services.report_check_editable's rule for a unit's user."""
        if self.is_future or (self.report is not None and not self.report.is_editable_status):
            return False
        today = timezone.localdate()
        exception = self.report.edit_exception_until if self.report is not None else None
        return today <= self.lock_date or bool(exception and today <= exception)

    @property
    def is_locked(self):
        """Past its lock day with no 特许修改: the unit can only look at it."""
        return not self.is_future and timezone.localdate() > self.lock_date and not self.is_open

    @property
    def url(self):
        if self.report is not None:
            return self.report.get_absolute_url()
        return None


def month_cell(period, report, reason=""):
    due_date, lock_date = deadline_for(period)
    return MonthCell(period=period, report=report, due_date=due_date, lock_date=lock_date,
                     is_future=is_future(period), reason=reason)


def unit_year(unit, year):
    """The 12 months of a year for one unit, with their reports (or None)."""
    reports = {r.period: r for r in MonthlyReport.objects.filter(unit=unit, period__year=year).select_related("unit")}
    return [month_cell(month_start(year, month), reports.get(month_start(year, month))) for month in range(1, 13)]


def unit_years(unit):
    """Years the unit can browse, newest first: from its first report (or last year) to this year."""
    this_year = timezone.localdate().year
    first = MonthlyReport.objects.filter(unit=unit).order_by("period").values_list("period", flat=True).first()
    start = min(first.year, this_year - 1) if first else this_year - 1
    return list(range(this_year, start - 1, -1))


def unit_due_now(unit):
    """The month the unit can act on now, most urgent first, or None.

    A returned month it can still change, then a month the office opened by 特许修改, then the month to
    report: last month until its lock day, this month after it.  A locked month is never proposed.
    """
    today = timezone.localdate()
    this_month = current_month()
    waiting = MonthlyReport.objects.filter(unit=unit, period__lte=this_month).filter(
        Q(status=ReportStatus.RETURNED) | Q(status=ReportStatus.DRAFT, edit_exception_until__gte=today)
    ).select_related("unit").order_by("period")
    returned = [r for r in waiting if r.status == ReportStatus.RETURNED]
    excepted = [r for r in waiting if r.status == ReportStatus.DRAFT]
    for reason, reports in (("returned", returned), ("exception", excepted)):
        for report in reports:
            cell = month_cell(report.period, report, reason)
            if cell.is_open:
                return cell
    for period in (previous_month(this_month), this_month):
        report = MonthlyReport.objects.filter(unit=unit, period=period).select_related("unit").first()
        if report is not None and report.status in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
            continue
        cell = month_cell(period, report, "open")
        if cell.is_open:
            return cell
    return None


def unit_returned_reports(unit):
    """The unit's returned months, each as a MonthCell (is_open says whether it can still change them)."""
    reports = MonthlyReport.objects.filter(unit=unit, status=ReportStatus.RETURNED).select_related(
        "unit", "reviewed_by").order_by("-period")
    return [month_cell(r.period, r, "returned") for r in reports]


# --- a month's report -----------------------------------------------------------


def report_or_unsaved(reports, unit, period):
    """The unit's report for the month from `reports`, or, when no action has created it yet, an unsaved
    draft to show: viewing a month writes nothing (the first action creates the row, services.report_open)."""
    report = reports.filter(unit=unit, period=period).first()
    return report if report is not None else MonthlyReport(unit=unit, period=period)


@dataclass
class EntryRow:
    entry: object
    last_batch: ImportBatch | None

    @property
    def category(self):
        return self.entry.category


def report_entry_rows(report):
    """The report's categories, each with its most recent upload.

    A category without a stored entry (a month no action has touched, or a
    category added since the report was created) shows as an unsaved, empty one.
    """
    last, entries = {}, []
    if report.pk is not None:
        for batch in report.batches.order_by("-created_at", "-id"):
            last.setdefault(batch.category_id, batch)
        entries = list(report.entries.select_related("category", "current_batch"))
    stored = {e.category_id for e in entries}
    entries += [ReportEntry(report=report, category=c) for c in report.unit.categories() if c.pk not in stored]
    entries.sort(key=lambda e: (e.category.order, e.category.code))
    return [EntryRow(entry=e, last_batch=last.get(e.category_id)) for e in entries]


def report_audit_events(report):
    if report.pk is None:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(report=report).select_related("actor", "category", "batch")


def report_exception_reason(report):
    """Why the office granted the report's current 特许修改 (the last grant's reason), or ""."""
    if report.pk is None or report.edit_exception_until is None:
        return ""
    event = AuditEvent.objects.filter(report=report, action=AuditEvent.Action.EXCEPTION).order_by("-created_at",
                                                                                                  "-id").first()
    return event.details.get("reason", "") if event else ""


def record_search(report, category, query=""):
    if report.pk is None:
        return Record.objects.none()
    records = Record.objects.filter(report=report, category=category).order_by("row_number", "id")
    query = query.strip()
    if query:
        records = records.filter(
            Q(subject_name__icontains=query) | Q(doc_number__icontains=query) | Q(credit_code__icontains=query)
        )
    return records


def records_category(code):
    return Category.objects.filter(code=code, measure=Category.Measure.RECORDS)


# --- the office ------------------------------------------------------------------


def review_queue(*, kind="", period=None, status=""):
    reports = MonthlyReport.objects.select_related("unit").order_by("-period", "submitted_at", "unit__order")
    if kind:
        reports = reports.filter(unit__kind=kind)
    if period is not None:
        reports = reports.filter(period=period)
    if status:
        reports = reports.filter(status=status)
    return reports


def reports_awaiting_review(*, year, first=1, last=12):
    """Reports of months first..last of year submitted and not yet reviewed: no statistics count them yet."""
    return MonthlyReport.objects.filter(
        status=ReportStatus.SUBMITTED, period__range=(month_start(year, first), month_start(year, last)),
        unit__is_active=True,
    ).select_related("unit").order_by("unit__order", "unit__code", "period")


def last_return_reasons(reports):
    """report id -> why the office last returned (or reopened) it, for the given reports, in one query."""
    events = AuditEvent.objects.filter(
        report__in=[r.pk for r in reports], action__in=[AuditEvent.Action.RETURNED, AuditEvent.Action.REOPENED]
    ).order_by("report_id", "-created_at", "-id").values_list("report_id", "message")
    reasons = {}
    for report_id, message in events:
        reasons.setdefault(report_id, message)
    return reasons


OVERVIEW_STATES = (
    ("submitted", "已提交", "primary"),
    ("accepted", "已通过", "success"),
    ("returned", "已退回", "warning"),
    ("draft", "填报中", "secondary"),
    ("missing", "未填报", "dark"),
    ("late", "逾期", "danger"),
)


@dataclass
class OverviewRow:
    unit: Unit
    report: MonthlyReport | None
    due_date: datetime.date

    @property
    def state(self):
        return self.report.status if self.report is not None else "missing"

    @property
    def state_label(self):
        return self.report.get_status_display() if self.report is not None else "未填报"

    @property
    def is_late(self):
        """Submitted after the due date, or still not submitted once it has passed."""
        if self.report is not None and self.report.first_submitted_at is not None:
            return self.report.on_time is False
        return timezone.localdate() > self.due_date


def month_overview(period):
    """Every active unit's state for one month, grouped by kind, with totals per state."""
    reports = {r.unit_id: r for r in MonthlyReport.objects.filter(period=period)}
    due_date = deadline_for(period)[0]
    rows = [
        OverviewRow(unit=u, report=reports.get(u.pk), due_date=due_date) for u in Unit.objects.filter(is_active=True)
    ]
    counts = {code: 0 for code, _, _ in OVERVIEW_STATES}
    for row in rows:
        counts[row.state] += 1
        counts["late"] += row.is_late
    groups = [
        (label, [r for r in rows if r.unit.kind == kind])
        for kind, label in ((k, UnitKind(k).label) for k in KIND_ORDER)
    ]
    totals = [(code, label, css, counts[code]) for code, label, css in OVERVIEW_STATES]
    return {
        "groups": groups,
        "totals": totals,
        "due_date": due_date,
        "unit_count": len(rows),
        "is_future": is_future(period),
        "previous": previous_month(period),
        "next": next_month(period),
    }
