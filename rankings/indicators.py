"""Ranking indicators per unit for a year and month range.

Everything expensive (counting records, the working-day calendar, first-upload
compliance) is done by the rollup jobs into CategoryStat / ReportStat rows;
here those stored monthly rows (at most 63 x 12) are summed for the range.
"""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from reporting.models import MonthlyReport, ReportStatus, UnitKind

from .models import ReportStat, StatTable
from .selectors import period_range, table_compute

GROUPS = [UnitKind.COUNTY, UnitKind.PARK, UnitKind.DEPARTMENT]
GROUP_LABELS = dict(UnitKind.choices)

# Indicators that enter the composite score, with their default weights.
SCORED = {
    "completeness": ("报送完整率", 30),
    "on_time": ("按时报送率", 20),
    "disclosure": ("双公示及时率", 20),
    "compliance": ("合规率", 15),
    "volume": ("报送量", 15),
}
GRADES = [(85, "优秀"), (70, "良好"), (60, "合格"), (0, "不合格")]


def grade_for(score):
    for floor, label in GRADES:
        if score >= floor:
            return label
    return GRADES[-1][1]


def weights_in_force():
    """code -> weight, admin-edited values over the defaults."""
    from .models import IndicatorWeight

    weights = {code: default for code, (_, default) in SCORED.items()}
    weights.update(dict(IndicatorWeight.objects.values_list("code", "weight")))
    return weights


def table_for_kind(kind):
    """The statistics table whose columns rank a group: the narrowest active table showing that kind."""
    tables = [t for t in StatTable.objects.filter(is_active=True).prefetch_related("columns") if kind in t.kinds]
    return min(tables, key=lambda t: (len(t.kinds), t.order), default=None)


@dataclass
class UnitIndicators:
    unit: object
    values: dict  # column label -> value
    total: int
    months_due: int
    months_accepted: int
    months_on_time: int
    disclosure_total: int
    disclosure_timely: int
    disclosure_unknown: int
    first_rows_total: int
    first_rows_valid: int
    never_reported: bool
    pending: int = 0  # reports of the range awaiting review, not counted until accepted
    ranks: dict = field(default_factory=dict)  # indicator or column label -> rank in group
    score: float = 0.0
    grade: str = ""

    @property
    def completeness(self):
        return _ratio(self.months_accepted, self.months_due)

    @property
    def on_time_rate(self):
        return _ratio(self.months_on_time, self.months_due)

    @property
    def disclosure_rate(self):
        return _ratio(self.disclosure_timely, self.disclosure_total - self.disclosure_unknown)

    @property
    def compliance_rate(self):
        return _ratio(self.first_rows_valid, self.first_rows_total)

    def rates(self):
        return {
            "completeness": self.completeness,
            "on_time": self.on_time_rate,
            "disclosure": self.disclosure_rate,
            "compliance": self.compliance_rate,
        }


@dataclass
class GroupRanking:
    kind: str
    label: str
    table: StatTable
    columns: list  # labels of the table's columns
    rows: list  # UnitIndicators, best score first
    weights: dict
    calendar_warning: str = ""


def _ratio(part, whole):
    return None if not whole else round(100.0 * part / whole, 1)


def months_due(year, first, last, today=None):
    """Months of the range whose reporting deadline has passed."""
    today = today or timezone.localdate()
    due = []
    for month in range(first, last + 1):
        report = MonthlyReport(period=datetime.date(year, month, 1))
        if report.due_date < today:
            due.append(month)
    return due


def reported_early(kind, *, year, first, last, due, today=None):
    """unit id -> [(accepted, on time)] for months of the range not due yet that the unit already submitted
    (by today).  They count as due for that unit: reporting early must not look like not reporting."""
    today = today or timezone.localdate()
    months = [m for m in range(first, last + 1) if m not in due and datetime.date(year, m, 1) <= today]
    if not months:
        return {}
    early = {}
    reports = MonthlyReport.objects.filter(
        unit__kind=kind, period__year=year, period__month__in=months, first_submitted_at__date__lte=today,
    ).values_list("unit_id", "status", "on_time")
    for unit_id, status, on_time in reports:
        early.setdefault(unit_id, []).append((status == ReportStatus.ACCEPTED, on_time is True))
    return early


def competition_ranks(items, key):
    """Rank by key, higher is better; ties share a rank (1, 2, 2, 4).  None ranks last."""
    ordered = sorted(items, key=lambda i: (key(i) is None, -(key(i) or 0)))
    ranks, previous, rank = {}, object(), 0
    for position, item in enumerate(ordered, start=1):
        value = key(item)
        if value != previous:
            rank, previous = position, value
        ranks[id(item)] = rank
    return ranks


def group_ranking(kind, *, year, first, last, today=None):
    """Indicators, ranks, scores and grades of one group (县（市）区, 园区 or 市有关部门)."""
    table = table_for_kind(kind)
    if table is None:  # no active statistics table shows this group: nothing to rank it on
        return GroupRanking(kind=kind, label=GROUP_LABELS[kind], table=None, columns=[], rows=[],
                            weights=weights_in_force())
    computed = table_compute(table, year=year, first=first, last=last)
    rows = [r for g in computed.groups if g.kind == kind for r in g.rows]
    due = months_due(year, first, last, today)
    start, end = period_range(year, first, last)
    quality = ("disclosure_total", "disclosure_timely", "disclosure_unknown", "first_rows_total", "first_rows_valid")
    facts = {}
    # Plain values, not model instances: the departments' year is over 600 rows and the page has a time budget.
    stats = ReportStat.objects.filter(period__range=(start, end), unit__kind=kind).values_list(
        "unit_id", "period", "accepted", "on_time", *quality
    )
    for unit_id, period, accepted, on_time, *counts in stats:
        f = facts.setdefault(unit_id, dict.fromkeys(("accepted", "on_time", *quality), 0))
        due_month = period.month in due
        f["accepted"] += accepted and due_month
        f["on_time"] += bool(on_time) and due_month
        if accepted:
            for key, n in zip(quality, counts, strict=True):
                f[key] += n
    early = reported_early(kind, year=year, first=first, last=last, due=due, today=today)
    indicators = []
    for row in rows:
        f = facts.get(row.unit.pk, {})
        ahead = early.get(row.unit.pk, [])
        indicators.append(UnitIndicators(
            unit=row.unit, values=row.values, total=row.total, months_due=len(due) + len(ahead),
            months_accepted=f.get("accepted", 0) + sum(a for a, _ in ahead),
            months_on_time=f.get("on_time", 0) + sum(o for _, o in ahead), pending=row.pending,
            disclosure_total=f.get("disclosure_total", 0), disclosure_timely=f.get("disclosure_timely", 0),
            disclosure_unknown=f.get("disclosure_unknown", 0), first_rows_total=f.get("first_rows_total", 0),
            first_rows_valid=f.get("first_rows_valid", 0), never_reported=row.never_reported,
        ))
    weights = weights_in_force()
    _score(indicators, weights)
    _rank(indicators, computed.labels)
    indicators.sort(key=lambda i: (i.ranks["score"], i.unit.order))
    return GroupRanking(kind=kind, label=GROUP_LABELS[kind], table=table, columns=computed.labels, rows=indicators,
                        weights=weights, calendar_warning=calendar_warning(indicators))


def calendar_warning(indicators):
    """The warning about 双公示 records the holiday calendar could not judge, or ""."""
    unknown = sum(i.disclosure_unknown for i in indicators)
    if not unknown:
        return ""
    from .workdays import calendar_years

    return (f"有 {unknown} 条双公示记录的日期超出节假日日历数据范围（{'—'.join(map(str, calendar_years()))} 年），"
            "未计入双公示及时率。请升级 chinese-calendar 后重新汇总。")


def _score(indicators, weights):
    best_total = max((i.total for i in indicators), default=0)
    for item in indicators:
        parts = dict(item.rates())
        parts["volume"] = 100.0 * item.total / best_total if best_total else 0.0
        used = {k: v for k, v in parts.items() if v is not None and weights.get(k)}
        weight_sum = sum(weights[k] for k in used)
        item.score = round(sum(weights[k] * v for k, v in used.items()) / weight_sum, 1) if weight_sum else 0.0
        item.grade = grade_for(item.score)


def _rank(indicators, labels):
    keys = {
        "score": lambda i: i.score,
        "completeness": lambda i: i.completeness,
        "on_time": lambda i: i.on_time_rate,
        "disclosure": lambda i: i.disclosure_rate,
        "compliance": lambda i: i.compliance_rate,
        "total": lambda i: i.total,
    }
    for label in labels:
        keys[label] = lambda i, label=label: i.values[label]
    for name, key in keys.items():
        ranks = competition_ranks(indicators, key)
        for item in indicators:
            item.ranks[name] = ranks[id(item)]
