"""Pages of the rankings: a group's ranking, one unit's ranks and trend, the city's national rank.

A group's ranks need every unit of the group, so the ranking is computed for
all of them (from rollup rows only) and a unit's reporter is then given their
own row alone: no other unit's row, value or chart point reaches their page.
"""

import dataclasses
import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from reporting.forms import parse_period
from reporting.models import UnitKind, next_month
from reporting.selectors import is_future, units_visible_to

from . import selectors
from .forms import table_range
from .forms_rankings import CityRankForm
from .indicators import GROUPS, SCORED, calendar_warning, group_ranking
from .models import CityRank, ReportStat

# Indicators shown for every unit: (key in UnitIndicators.ranks, label, attribute, suffix).
INDICATORS = [
    ("completeness", "报送完整率", "completeness", "%"),
    ("on_time", "按时报送率", "on_time_rate", "%"),
    ("disclosure", "双公示及时率", "disclosure_rate", "%"),
    ("compliance", "合规率", "compliance_rate", "%"),
    ("total", "报送量", "total", ""),
]
GRADE_CSS = {"优秀": "success", "良好": "primary", "合格": "warning", "不合格": "danger"}
KIND_LABELS = dict(UnitKind.choices)


def _weights(ranking):
    return [(label, ranking.weights.get(code, 0)) for code, (label, _) in SCORED.items()]


def _visible(ranking, user):
    """The ranking as the user may see it: every row for the office, else their own unit's."""
    if user.is_office:
        return ranking
    allowed = set(units_visible_to(user).values_list("pk", flat=True))
    rows = [row for row in ranking.rows if row.unit.pk in allowed]
    return dataclasses.replace(ranking, rows=rows, calendar_warning=calendar_warning(rows))


def _explain(row):
    """What each rate is made of, for the cell's tooltip."""
    return {
        "completeness": f"已通过 {row.months_accepted} 个月 / 应报 {row.months_due} 个月",
        "on_time": f"按时报送 {row.months_on_time} 个月 / 应报 {row.months_due} 个月",
        "disclosure": f"7个工作日内报送 {row.disclosure_timely} 条 / 双公示 {row.disclosure_total} 条"
        + (f"（{row.disclosure_unknown} 条无法判断）" if row.disclosure_unknown else ""),
        "compliance": f"首次上传通过 {row.first_rows_valid} 行 / 共 {row.first_rows_total} 行",
        "total": "所选期间各类别报送量之和",
    }


def _cells(row, columns):
    """(value, suffix, rank, tooltip) for each indicator, then each table column."""
    explain = _explain(row)
    cells = [(getattr(row, attr), suffix, row.ranks[key], explain[key]) for key, _, attr, suffix in INDICATORS]
    cells += [(row.values[label], "", row.ranks[label], "") for label in columns]
    return cells


def _chart(ranking):
    """Data of the bar chart: the score, then each indicator and column, per visible unit."""
    rows = ranking.rows
    series = [{"label": "综合得分", "suffix": "", "values": [row.score for row in rows]}]
    series += [{"label": label, "suffix": suffix, "values": [getattr(row, attr) for row in rows]}
               for _, label, attr, suffix in INDICATORS]
    series += [{"label": label, "suffix": "", "values": [row.values[label] for row in rows]}
               for label in ranking.columns]
    return {"units": [row.unit.short_name for row in rows], "series": series}


@login_required
def rankings(request, kind=None):
    """A group's ranking for a year and month range."""
    user = request.user
    if kind is not None and kind not in GROUPS:
        raise Http404("没有这一组单位。")
    if not user.is_office:
        own = user.unit.kind if user.unit_id else None
        if own is None:
            raise PermissionDenied("您的账号未关联任何单位。")
        if kind != own:
            query = request.GET.urlencode()
            return redirect(reverse("rankings", args=[own]) + (f"?{query}" if query else ""))
    kind = kind or GROUPS[0]
    scope = None if user.is_office else list(units_visible_to(user))
    chosen = table_range(request.GET, units=scope)
    full = group_ranking(kind, year=chosen.year, first=chosen.first, last=chosen.last)
    ranking = _visible(full, user)
    query = "?" + urlencode(chosen.query)
    return render(
        request,
        "rankings/rankings.html",
        {
            "ranking": ranking,
            "range": chosen,
            "group_size": len(full.rows),
            "groups": [(k, KIND_LABELS[k], reverse("rankings", args=[k]) + query) for k in GROUPS],
            "indicators": INDICATORS,
            "weights": _weights(ranking),
            "rows": [
                (row, GRADE_CSS[row.grade], reverse("unit_ranking", args=[row.unit.code]) + query,
                 _cells(row, ranking.columns))
                for row in ranking.rows
            ],
            "chart": _chart(ranking),
            "pending": sum(row.pending for row in ranking.rows),
        },
    )


@login_required
def unit_ranking(request, code):
    """One unit's ranks in its group for the range, and its monthly trend."""
    unit = get_object_or_404(units_visible_to(request.user), code=code, kind__in=GROUPS)
    chosen = table_range(request.GET, units=[unit])
    full = group_ranking(unit.kind, year=chosen.year, first=chosen.first, last=chosen.last)
    row = next((r for r in full.rows if r.unit.pk == unit.pk), None)
    if row is None:  # an inactive unit, or its group has no statistics table
        raise Http404("该单位不参加排名。")
    explain = _explain(row)
    months = list(range(chosen.first, chosen.last + 1))
    trend = selectors.unit_trend(unit, year=chosen.year, table=full.table)
    totals = [sum(values[m - 1] for values in trend.values()) for m in months]
    query = "?" + urlencode(chosen.query)
    return render(
        request,
        "rankings/unit_rank.html",
        {
            "unit": unit,
            "row": row,
            "ranking": full,
            "range": chosen,
            "group_size": len(full.rows),
            "grade_css": GRADE_CSS[row.grade],
            "weights": _weights(full),
            "calendar_warning": calendar_warning([row]),
            "indicators": [
                (label, getattr(row, attr), suffix, row.ranks[key], explain[key])
                for key, label, attr, suffix in INDICATORS
            ],
            "columns": [(label, row.values[label], row.ranks[label]) for label in full.columns],
            "months": _month_facts(unit, chosen.year, months, totals),
            "chart": _trend_chart(chosen.year, months, totals, trend),
            "rankings_url": reverse("rankings", args=[unit.kind]) + query,
        },
    )


def _trend_chart(year, months, totals, trend):
    """The trend chart's data: months that have not come yet are not drawn (they would show as 0)."""
    drawn = [(i, m) for i, m in enumerate(months) if not is_future(datetime.date(year, m, 1))]
    return {
        "months": [f"{m}月" for _, m in drawn],
        "series": [{"name": "合计", "data": [totals[i] for i, _ in drawn]}]
        + [{"name": label, "data": [values[m - 1] for _, m in drawn]} for label, values in trend.items()],
    }


def _month_facts(unit, year, months, totals):
    """Per month of the range: the rolled-up report facts (or None), the month's total, whether it is to come."""
    stats = {s.period.month: s for s in ReportStat.objects.filter(unit=unit, period__year=year,
                                                                     period__month__in=months)}
    return [(month, stats.get(month), total, is_future(datetime.date(year, month, 1)))
            for month, total in zip(months, totals, strict=True)]


def _next_entry():
    """A new entry's proposal: the month after the latest one (if it has begun), its target and city count."""
    latest = CityRank.objects.last()
    if latest is None:
        return {}
    following = next_month(latest.period)
    initial = {"target_rank": latest.target_rank, "total_cities": latest.total_cities}
    if following <= timezone.localdate():
        initial["month"] = following.strftime("%Y-%m")
    return initial


@login_required
def city_rank(request):
    """The city's national monitoring rank by month; the office enters and corrects it."""
    office = request.user.is_office
    if request.method == "POST":
        if not office:
            raise PermissionDenied("只有市信用办工作人员可以录入城市排名。")
        form = CityRankForm(request.POST)
        if form.is_valid():
            entry = form.save()
            messages.success(request, f"已保存 {entry.period:%Y年%m月} 的城市信用监测排名：第{entry.rank}名。")
            return redirect("city_rank")
    elif office:
        editing = CityRank.objects.filter(period=parse_period(request.GET.get("month", ""))).first()
        form = CityRankForm(instance=editing, initial=None if editing else _next_entry())
    else:
        form = None
    entries = list(CityRank.objects.all())
    target = entries[-1].target_rank if entries else None
    return render(
        request,
        "rankings/city_rank.html",
        {
            "form": form,
            "entries": list(reversed(entries)),
            "latest": entries[-1] if entries else None,
            "chart": {
                "months": [f"{e.period:%Y-%m}" for e in entries],
                "ranks": [e.rank for e in entries],
                "totals": [e.total_cities for e in entries],
                "targets": [e.target_rank for e in entries],
                "target": target,
                "target_label": f"目标：前{target}名" if target else "",
            },
        },
    )
