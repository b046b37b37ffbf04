"""Reading the statistics: tables are computed from rollup rows, never from the records."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from reporting.models import Category, MonthlyReport, Record, ReportEntry, ReportStatus, Unit, UnitKind

from .models import MONTHLY_REPORTS, ROW_TOTAL, CategoryStat, ReportStat, StatTable

KIND_LABELS = dict(UnitKind.choices)


@dataclass
class TableRow:
    unit: Unit
    number: int
    values: dict  # label -> int
    total: int
    # Submitted no monthly report in the range (a report of nil categories is a report): "从未上报".
    never_reported: bool
    # Reports of the range submitted and awaiting review: not in the numbers until accepted.
    pending: int = 0


@dataclass
class TableGroup:
    kind: str
    label: str
    rows: list = field(default_factory=list)


@dataclass
class ComputedTable:
    table: StatTable
    year: int
    first: int
    last: int
    title: str
    columns: list  # StatColumn
    groups: list  # TableGroup
    totals: dict  # label -> int

    @property
    def labels(self):
        return [c.label for c in self.columns]

    @property
    def rows(self):
        return [row for group in self.groups for row in group.rows]

    @property
    def pending(self):
        """Reports of the range awaiting review (of the rows shown), which the numbers do not count yet."""
        return sum(row.pending for row in self.rows)

    def as_dict(self):
        """The JSON contract of `export_table --format json`."""
        return {
            "table": self.table.code,
            "title": self.title,
            "columns": self.labels,
            "rows": [
                {"unit": r.unit.code, "name": r.unit.short_name, "group": g.kind, "values": r.values,
                 "total": r.total}
                for g in self.groups for r in g.rows
            ],
            "totals": self.totals,
        }


def period_range(year, first, last):
    return datetime.date(year, first, 1), datetime.date(year, last, 1)


def _accepted(units=None):
    stats = ReportStat.objects.filter(accepted=True)
    return stats if units is None else stats.filter(unit__in=[u.pk for u in units])


def last_accepted_month(year, *, units=None):
    """The last month of the year with accepted data (of these units), or None."""
    latest = _accepted(units).filter(period__year=year).aggregate(m=Max("period"))["m"]
    return latest.month if latest else None


def default_range(year, *, units=None):
    """January to the last accepted month; this year, at least to the last month that has ended (in November
    1—10月, not 1—1月 because nothing has been accepted yet)."""
    last = last_accepted_month(year, units=units) or 1
    today = timezone.localdate()
    if year == today.year:
        last = max(last, today.month - 1)
    return 1, last


def years_with_data(*, units=None):
    """Years with accepted months (of these units), newest first."""
    return sorted({d.year for d in _accepted(units).dates("period", "year")}, reverse=True)


def default_year(*, units=None, years=None):
    """This year if it has accepted data, else the latest year that has, else this year."""
    this_year = timezone.localdate().year
    years = years_with_data(units=units) if years is None else years
    return this_year if this_year in years or not years else years[0]


def report_submissions(start, end, *, unit_ids=None):
    """unit id -> (reports ever submitted, reports awaiting review) among the months start..end.

    Read from the reports themselves, not the rollups: a unit that submitted anything in the range has
    reported (whether or not the office has reviewed it, and even if every category was nil).
    """
    # Submitted once at least: a first submission time, or a status only a submission leads to.
    reports = MonthlyReport.objects.filter(Q(first_submitted_at__isnull=False) | ~Q(status=ReportStatus.DRAFT),
                                           period__range=(start, end))
    if unit_ids is not None:
        reports = reports.filter(unit__in=unit_ids)
    counted = reports.values_list("unit_id").annotate(
        sent=Count("id"), pending=Count("id", filter=Q(status=ReportStatus.SUBMITTED))
    ).order_by()
    return {unit_id: (n, pending) for unit_id, n, pending in counted}


def table_compute(table, *, year, first=1, last=12, units=None):
    """The table for months first..last of year.  `units` limits the rows (a unit's own view)."""
    start, end = period_range(year, first, last)
    columns = list(table.columns.order_by("position"))
    codes = {code for c in columns for code in c.category_codes}
    category_ids = dict(Category.objects.filter(code__in=codes).values_list("code", "id"))
    unit_qs = Unit.objects.filter(is_active=True, kind__in=table.kinds)
    if units is not None:
        unit_qs = unit_qs.filter(pk__in=[u.pk for u in units])
    all_units = list(unit_qs)

    sums = {}
    stats = CategoryStat.objects.filter(period__range=(start, end))
    reports = ReportStat.objects.filter(period__range=(start, end), accepted=True)
    if units is not None:
        stats = stats.filter(unit__in=[u.pk for u in all_units])
        reports = reports.filter(unit__in=[u.pk for u in all_units])
    stats = stats.values_list("unit_id", "category_id").annotate(v=Sum("value")).order_by()
    for unit_id, category_id, value in stats:
        sums[(unit_id, category_id)] = value
    accepted = dict(reports.values_list("unit_id").annotate(n=Count("id")).order_by())
    sent = report_submissions(start, end, unit_ids=None if units is None else [u.pk for u in all_units])

    groups = {kind: TableGroup(kind=kind, label=KIND_LABELS[kind]) for kind in table.kinds}
    ordered = sorted(all_units, key=lambda u: (table.kinds.index(u.kind), u.order, u.code))
    summed = [(c.label, [category_ids.get(code) for code in c.category_codes]) for c in columns if not c.is_derived]
    for number, unit in enumerate(ordered, start=1):
        values, total = {}, 0
        for label, ids in summed:
            value = sum(sums.get((unit.pk, category_id), 0) for category_id in ids)
            values[label] = value
            total += value
        for column in columns:
            if column.source == MONTHLY_REPORTS:
                values[column.label] = accepted.get(unit.pk, 0)
            elif column.source == ROW_TOTAL:
                values[column.label] = total
        values = {c.label: values.get(c.label, 0) for c in columns}
        groups[unit.kind].rows.append(
            TableRow(unit=unit, number=number, values=values, total=total, never_reported=unit.pk not in sent,
                     pending=sent.get(unit.pk, (0, 0))[1])
        )
    group_list = [g for g in groups.values() if g.rows]
    totals = {c.label: sum(r.values[c.label] for g in group_list for r in g.rows) for c in columns}
    return ComputedTable(
        table=table, year=year, first=first, last=last, title=table.title(year=year, first=first, last=last),
        columns=columns, groups=group_list, totals=totals,
    )


def unit_trend(unit, *, year, table):
    """Monthly values of each category column for one unit (for its trend chart)."""
    columns = [c for c in table.columns.order_by("position") if not c.is_derived]
    codes = {code for c in columns for code in c.category_codes}
    rows = (
        CategoryStat.objects.filter(unit=unit, period__year=year, category__code__in=codes)
        .values_list("period__month", "category__code", "value")
    )
    monthly = {}
    for month, code, value in rows:
        monthly[(month, code)] = monthly.get((month, code), 0) + value
    return {
        c.label: [sum(monthly.get((m, code), 0) for code in c.category_codes) for m in range(1, 13)]
        for c in columns
    }


# --- drilling into a cell: these read the accepted reports and their records ---


def column_categories(column):
    """The categories behind a column's cells, in column order; for =row_total those of every category column."""
    if column.source == ROW_TOTAL:
        codes = [code for c in column.table.columns.order_by("position") for code in c.category_codes]
    else:
        codes = column.category_codes
    by_code = Category.objects.in_bulk(codes, field_name="code")
    return [by_code[code] for code in dict.fromkeys(codes) if code in by_code]


@dataclass
class CellMonth:
    report: MonthlyReport
    values: list  # int per category, in the order given
    total: int


def cell_months(unit, *, categories, year, first, last):
    """The unit's accepted reports in the range, each with its value per category:
    records counted, counts as entered (nil is 0)."""
    reports = list(
        MonthlyReport.objects.filter(
            unit=unit, period__range=period_range(year, first, last), status=ReportStatus.ACCEPTED
        ).select_related("unit").order_by("period")
    )
    values = {}
    records = [c.pk for c in categories if c.is_records]
    counts = [c.pk for c in categories if not c.is_records]
    if reports and records:
        counted = (
            Record.objects.filter(report__in=reports, category__in=records)
            .values_list("report_id", "category_id").annotate(n=Count("id")).order_by()
        )
        values.update(((r, c), n) for r, c, n in counted)
    if reports and counts:
        entries = ReportEntry.objects.filter(report__in=reports, category__in=counts).values_list(
            "report_id", "category_id", "count"
        )
        values.update(((r, c), n or 0) for r, c, n in entries)
    months = []
    for report in reports:
        row = [values.get((report.pk, c.pk), 0) for c in categories]
        months.append(CellMonth(report=report, values=row, total=sum(row)))
    return months


def cell_records(unit, *, categories, year, first, last):
    """The records behind a cell: those of the unit's accepted reports in the range."""
    return (
        Record.objects.filter(
            report__unit=unit, category__in=[c.pk for c in categories if c.is_records],
            report__status=ReportStatus.ACCEPTED, report__period__range=period_range(year, first, last),
        )
        .select_related("report", "category")
        .order_by("report__period", "category__order", "row_number", "id")
    )
