"""Unusual counts: a category's number this month far outside what the unit usually reports (read side).

As DHIS2 warns on a value outside a unit's usual range: a month's value is compared with the median of
the unit's submitted months of the past year for the same category.  24,000 licences from a unit that
usually sends 30 is flagged; so is a nil from a unit that usually sends 30.  Small numbers are never
flagged (3 instead of 0 is not news), nor is a unit with too short a history to have a usual range.
"""

import datetime
import statistics
from dataclasses import dataclass

from .models import Category, ReportEntry, ReportStatus

FACTOR = 5  # more than 5x, or less than 1/5 of, the median
MIN_DIFFERENCE = 10  # and at least this far from it
MIN_MONTHS = 3  # months of history needed to speak of a usual range
HISTORY_MONTHS = 12
REPORTED = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)


@dataclass(frozen=True)
class Outlier:
    category: Category
    value: int
    median: float
    months: int

    @property
    def is_high(self):
        return self.value > self.median

    @property
    def median_text(self):
        return f"{self.median:g}"

    @property
    def message(self):
        unit = " 条" if self.category.is_records else ""
        usual = f"本单位过去一年已报送的 {self.months} 个月的中位数 {self.median_text}{unit}"
        if self.is_high:
            times = f"，约为其 {self.value / self.median:.0f} 倍" if self.median else ""
            return f"{self.category.name}：本月 {self.value}{unit}，远高于{usual}{times}"
        return f"{self.category.name}：本月 {self.value}{unit}，远低于{usual}"


def is_outlier(value, median):
    if abs(value - median) < MIN_DIFFERENCE:
        return False
    return value > FACTOR * median or value * FACTOR < median


def months_before(period, months=HISTORY_MONTHS):
    index = period.year * 12 + period.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _value(*, is_nil, count, record_count, measure):
    """The entry's number, or None when it is not filled in (untouched)."""
    if is_nil:
        return 0
    if measure == Category.Measure.RECORDS:
        return record_count or None
    return count


def report_outliers(report, *, untouched_as_nil=False):
    """The report's unusual categories.  `untouched_as_nil`: count untouched categories as 0, as they will be
    once the month is submitted (the submit confirmation asks about them before it happens)."""
    if report.pk is None:
        return []
    return outliers_by_report([report], untouched_as_nil=untouched_as_nil).get(report.pk, [])


def outliers_by_report(reports, *, untouched_as_nil=False):
    """{report id: [Outlier, …]} for the given saved reports, in two queries."""
    reports = [r for r in reports if r.pk is not None]
    if not reports:
        return {}
    fields = ("report_id", "report__unit_id", "report__period", "category_id", "is_nil", "count", "record_count",
              "category__measure")
    history = {}  # (unit id, category id) -> [(period, value)]
    past = ReportEntry.objects.filter(
        report__unit_id__in={r.unit_id for r in reports}, report__status__in=REPORTED,
        report__period__gte=months_before(min(r.period for r in reports)),
        report__period__lt=max(r.period for r in reports),
    ).values_list(*fields)
    for _, unit_id, period, category_id, is_nil, count, record_count, measure in past.iterator():
        value = _value(is_nil=is_nil, count=count, record_count=record_count, measure=measure)
        if value is not None:
            history.setdefault((unit_id, category_id), []).append((period, value))
    found = {}
    current = ReportEntry.objects.filter(report__in=[r.pk for r in reports]).select_related("category", "report")
    for entry in current:
        report = entry.report
        value = _value(is_nil=entry.is_nil, count=entry.count, record_count=entry.record_count,
                       measure=entry.category.measure)
        if value is None and untouched_as_nil:
            value = 0
        if value is None:
            continue
        start = months_before(report.period)
        usual = [v for period, v in history.get((report.unit_id, entry.category_id), ()) if start <= period < report.period]
        if len(usual) < MIN_MONTHS:
            continue
        median = statistics.median(usual)
        if is_outlier(value, median):
            found.setdefault(report.pk, []).append(
                Outlier(category=entry.category, value=value, median=median, months=len(usual)))
    for outliers in found.values():
        outliers.sort(key=lambda o: (o.category.order, o.category.code))
    return found
