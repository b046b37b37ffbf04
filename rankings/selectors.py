"""Reading the statistics: tables are computed from rollup rows, never from the records."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Max, Sum

from reporting.models import Category, Unit, UnitKind

from .models import MONTHLY_REPORTS, ROW_TOTAL, CategoryStat, ReportStat, StatTable

KIND_LABELS = dict(UnitKind.choices)


@dataclass
class TableRow:
    unit: Unit
    number: int
    values: dict  # label -> int
    total: int
    never_reported: bool


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


def last_accepted_month(year):
    """The last month of the year with accepted data, or None."""
    latest = ReportStat.objects.filter(accepted=True, period__year=year).aggregate(m=Max("period"))["m"]
    return latest.month if latest else None


def default_range(year):
    return 1, last_accepted_month(year) or 1


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
    any_data = set()
    stats = (
        CategoryStat.objects.filter(period__range=(start, end))
        .values_list("unit_id", "category_id").annotate(v=Sum("value")).order_by()
    )
    for unit_id, category_id, value in stats:
        sums[(unit_id, category_id)] = value
        if value:
            any_data.add(unit_id)
    accepted = dict(
        ReportStat.objects.filter(period__range=(start, end), accepted=True)
        .values_list("unit_id").annotate(n=Count("id")).order_by()
    )

    groups = {kind: TableGroup(kind=kind, label=KIND_LABELS[kind]) for kind in table.kinds}
    ordered = sorted(all_units, key=lambda u: (table.kinds.index(u.kind), u.order, u.code))
    for number, unit in enumerate(ordered, start=1):
        values, total = {}, 0
        for column in columns:
            if column.source == MONTHLY_REPORTS or column.source == ROW_TOTAL:
                continue
            value = sum(sums.get((unit.pk, category_ids.get(code)), 0) for code in column.category_codes)
            values[column.label] = value
            total += value
        for column in columns:
            if column.source == MONTHLY_REPORTS:
                values[column.label] = accepted.get(unit.pk, 0)
            elif column.source == ROW_TOTAL:
                values[column.label] = total
        values = {c.label: values[c.label] for c in columns}
        groups[unit.kind].rows.append(
            TableRow(unit=unit, number=number, values=values, total=total, never_reported=unit.pk not in any_data)
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
