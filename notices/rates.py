"""The reporting-rate matrix: units x months of a year, each cell the month's state.

Read live from the reports (not from the statistics rollups), in a fixed number
of queries whatever the number of units: units with their contacts, the
year's deadline overrides, and one row per report (plain values, no model
instances).  Everything else is arithmetic.

Which months count (the same rule as the rankings' completeness): a month is
*due* for a unit once its deadline has passed, or earlier if the unit has
already submitted it; months that have not come yet never count.  Per unit and
per month: due, submitted (submitted or accepted now), accepted, on time
(first submission by the deadline).  Completeness is accepted / due, the
on-time rate on time / due.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import quote

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.urls import reverse
from django.utils import timezone

from reporting.models import Deadline, MonthlyReport, ReportStatus, Unit, UnitKind, next_month

STATES = {
    ReportStatus.ACCEPTED: ("已通过", "通过"),
    ReportStatus.SUBMITTED: ("已提交待审核", "待审"),
    ReportStatus.RETURNED: ("已退回", "退回"),
    ReportStatus.DRAFT: ("填报中", "填报中"),
    "missing": ("未报送", "未报"),
    "future": ("尚未到期", ""),
}
KIND_ORDER = (UnitKind.COUNTY, UnitKind.PARK, UnitKind.DEPARTMENT)
ACCEPTED, SUBMITTED = ReportStatus.ACCEPTED.value, ReportStatus.SUBMITTED.value
SENT = (SUBMITTED, ACCEPTED)


def ratio(part, whole):
    return None if not whole else part / whole


def percent(value):
    return "—" if value is None else f"{100 * value:.1f}%"


def due_dates(year):
    """month -> (due date, lock date) of each month of the year, in one query."""
    overrides = {d.period.month: (d.due_date, d.lock_date) for d in Deadline.objects.filter(period__year=year)}
    dates = {}
    for month in range(1, 13):
        following = next_month(datetime.date(year, month, 1))
        dates[month] = overrides.get(month) or (
            following.replace(day=settings.REPORT_DEADLINE_DAY), following.replace(day=settings.REPORT_LOCK_DAY)
        )
    return dates


@dataclass(slots=True)
class Counts:
    due: int = 0
    submitted: int = 0
    accepted: int = 0
    on_time: int = 0
    pending: int = 0  # submitted, awaiting review
    late: int = 0  # due and either sent late or still not sent after the deadline

    @property
    def completeness(self):
        return ratio(self.accepted, self.due)

    @property
    def on_time_rate(self):
        return ratio(self.on_time, self.due)


@dataclass(slots=True)
class Cell:
    state: str  # a ReportStatus, "missing" or "future"
    due: bool
    late: bool
    url: str

    @property
    def label(self):
        return STATES[self.state][1]

    @property
    def title(self):
        return STATES[self.state][0] + ("（逾期）" if self.late else "")


@dataclass
class Row:
    unit: Unit
    cells: list
    counts: Counts
    contact: object = None


@dataclass
class Matrix:
    year: int
    through: int
    kind: str
    today: datetime.date
    months: list  # 1..through
    deadlines: dict  # month -> (due, lock)
    rows: list
    month_counts: list  # Counts per month
    total: Counts = field(default_factory=Counts)

    @property
    def groups(self):
        """(label, rows) by unit kind, in the office's order."""
        return [(UnitKind(k).label, [r for r in self.rows if r.unit.kind == k]) for k in KIND_ORDER
                if any(r.unit.kind == k for r in self.rows)]

    def as_json(self):
        """The contract of `reporting_rate --json`."""
        return {
            "year": self.year,
            "through": self.through,
            "units": [
                {"unit": r.unit.code, "due": r.counts.due, "submitted": r.counts.submitted,
                 "accepted": r.counts.accepted, "on_time": r.counts.on_time}
                for r in self.rows
            ],
            "completeness": _rounded(self.total.completeness),
            "on_time_rate": _rounded(self.total.on_time_rate),
        }


def _rounded(value):
    return None if value is None else round(value, 3)


def reporting_rate(*, year, through=12, kind="", today=None):
    """The matrix for months 1..through of year, all active units or those of one kind."""
    today = today or timezone.localdate()
    this_month = today.replace(day=1)
    units = Unit.objects.filter(is_active=True).select_related("contact").order_by("order", "code")
    reports = MonthlyReport.objects.filter(unit__is_active=True, period__year=year, period__month__lte=through)
    if kind:
        units = units.filter(kind=kind)
        reports = reports.filter(unit__kind=kind)
    units = list(units)
    facts = {
        (unit_id, period.month): (status, on_time, sent)
        for unit_id, period, status, on_time, sent in reports.annotate(
            # Submitted once at least: a first submission time, or a status only a submission leads to.
            sent=ExpressionWrapper(Q(first_submitted_at__isnull=False) | ~Q(status=ReportStatus.DRAFT),
                                   output_field=BooleanField())
        ).values_list("unit_id", "period", "status", "on_time", "sent")
    }
    deadlines = due_dates(year)
    months = list(range(1, through + 1))
    # Per month: is it over (future months are drawn empty), has its deadline passed, its URL part.
    calendar = [(month, datetime.date(year, month, 1) > this_month, deadlines[month][0] < today, f"{year}-{month:02d}")
                for month in months]
    month_totals = [[0] * 6 for _ in months]
    unit_link = reverse("report_detail", args=["UNIT", "0000-00"])  # one reverse, not one per unit
    missing = ("missing", None, False)
    rows = []
    for unit in units:
        totals = [0] * 6
        cells = []
        link = unit_link.replace("UNIT", quote(unit.code, safe=""))
        for index, (month, future, passed, code) in enumerate(calendar):
            status, on_time, sent = facts.get((unit.pk, month), missing)
            if future and not sent and status == "missing":
                cells.append(Cell("future", False, False, ""))
                continue
            due = passed or sent
            late = due and (on_time is False or (passed and not sent))
            cells.append(Cell(status, due, late, link.replace("0000-00", code)))
            if due:
                counted = (1, status in SENT, status == ACCEPTED, on_time is True, status == SUBMITTED, late)
                month_total = month_totals[index]
                for i, n in enumerate(counted):
                    totals[i] += n
                    month_total[i] += n
        rows.append(Row(unit=unit, cells=cells, counts=Counts(*totals), contact=getattr(unit, "contact", None)))
    month_counts = [Counts(*t) for t in month_totals]
    total = Counts(*(sum(t[i] for t in month_totals) for i in range(6)))
    return Matrix(year=year, through=through, kind=kind, today=today, months=months, deadlines=deadlines, rows=rows,
                  month_counts=month_counts, total=total)
