"""Pages of the statistics tables.

Scoping as in the reporting pages: a unit's reporter gets only their own unit's
row (table_compute is given units=[their unit]), so no other unit's number ever
reaches the page, its charts or its exports; another unit's drill-down is a 404.
The table page reads rollup rows only, never the records.
"""

import datetime
from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from reporting.models import Unit
from reporting.selectors import is_future, units_visible_to
from reporting.validators import mask_id_number

from . import exports, selectors
from .forms import table_range
from .models import MONTHLY_REPORTS, ROW_TOTAL, StatTable

RECORDS_PER_PAGE = 50
MONTH_LABELS = [f"{m}月" for m in range(1, 13)]


def _scope(user):
    """None (every unit) for the office, else the units the user may see."""
    return None if user.is_office else list(units_visible_to(user))


def _active_table(code):
    return get_object_or_404(StatTable, code=code, is_active=True)


@login_required
def stat_index(request):
    scope = _scope(request.user)
    units = Unit.objects.filter(is_active=True) if scope is None else scope
    return render(
        request,
        "rankings/index.html",
        {"tables": StatTable.objects.filter(is_active=True).prefetch_related("columns"), "units": units},
    )


@login_required
def stat_table(request, code):
    table = _active_table(code)
    scope = _scope(request.user)
    chosen = table_range(request.GET, units=scope)
    computed = selectors.table_compute(table, year=chosen.year, first=chosen.first, last=chosen.last, units=scope)
    if request.GET.get("format") in exports.FORMATS:
        return _export(computed, request.GET["format"])
    return render(
        request,
        "rankings/table.html",
        {
            "table": table,
            "computed": computed,
            "range": chosen,
            "name_header": exports.name_header(table),
            "span": len(computed.columns) + (2 if table.numbered else 1),
            "body": _table_body(computed, chosen),
            "total_cells": [computed.totals[label] for label in computed.labels],
            "chart": _column_chart(computed),
            "exports": {
                fmt: reverse("stat_table_export", args=[table.code]) + "?" + urlencode({**chosen.query, "format": fmt})
                for fmt in exports.FORMATS
            },
        },
    )


@login_required
def stat_table_export(request, code):
    table = _active_table(code)
    scope = _scope(request.user)
    chosen = table_range(request.GET, units=scope)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in exports.FORMATS:
        raise Http404("不支持的导出格式。")
    computed = selectors.table_compute(table, year=chosen.year, first=chosen.first, last=chosen.last, units=scope)
    return _export(computed, fmt)


def _export(computed, fmt):
    content = {"xlsx": exports.table_xlsx, "csv": exports.table_csv, "json": exports.table_json}[fmt](computed)
    response = HttpResponse(content, content_type=exports.FORMATS[fmt])
    filename = exports.export_filename(computed, fmt)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _table_body(computed, chosen):
    """Groups of rows, each cell as (value, link to what is behind it, is_derived).

    Links are concatenated rather than reversed: the full department table has
    over a thousand of them and the page must stay fast.
    """
    table = computed.table
    cell_base = reverse("stat_cell", args=[table.code]) + "?" + urlencode(chosen.query)
    unit_query = "?" + urlencode({"year": chosen.year})
    groups = []
    for group in computed.groups:
        rows = []
        for row in group.rows:
            unit_param = "&" + urlencode({"unit": row.unit.code}) + "&column="
            cells = []
            for column in computed.columns:
                value = row.values[column.label]
                cells.append((value, f"{cell_base}{unit_param}{column.position}", column.is_derived))
            rows.append((row, reverse("stat_unit", args=[row.unit.code]) + unit_query, cells))
        groups.append((group, rows))
    return groups


def _column_chart(computed):
    """Data of the per-column bar chart; the page sorts each column's units by value."""
    sources = [c.source for c in computed.columns]
    return {
        "columns": computed.labels,
        "initial": sources.index(ROW_TOTAL) if ROW_TOTAL in sources else 0,
        "units": [row.unit.short_name for row in computed.rows],
        "values": [[row.values[label] for label in computed.labels] for row in computed.rows],
    }


@login_required
def stat_cell(request, code):
    """What is behind one cell: the unit's accepted months and, for records categories, the records."""
    table = _active_table(code)
    unit = get_object_or_404(units_visible_to(request.user), code=request.GET.get("unit", ""), kind__in=table.kinds)
    try:
        column = table.columns.get(position=int(request.GET.get("column", "")))
    except (ValueError, table.columns.model.DoesNotExist):
        raise Http404("没有这一列。") from None
    chosen = table_range(request.GET, units=[unit])
    span = {"year": chosen.year, "first": chosen.first, "last": chosen.last}
    categories = selectors.column_categories(column)
    months = selectors.cell_months(unit, categories=categories, **span)
    records_page = None
    if any(c.is_records for c in categories):
        records = selectors.cell_records(unit, categories=categories, **span)
        records_page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    masked = not request.user.is_office
    return render(
        request,
        "rankings/cell.html",
        {
            "table": table,
            "unit": unit,
            "column": column,
            "range": chosen,
            "categories": categories,
            "months": months,
            "month_total": [sum(m.values[i] for m in months) for i in range(len(categories))],
            "grand_total": sum(m.total for m in months),
            "is_monthly_reports": column.source == MONTHLY_REPORTS,
            "is_row_total": column.source == ROW_TOTAL,
            "page": records_page,
            "records": [
                (r, mask_id_number(r.id_number) if masked else r.id_number) for r in records_page or []
            ],
            "masked": masked,
            "table_url": reverse("stat_table", args=[table.code]) + "?" + urlencode(chosen.query),
        },
    )


@login_required
def stat_unit(request, code):
    """One unit's monthly values in each table it appears in, with a trend chart per table."""
    unit = get_object_or_404(units_visible_to(request.user), code=code)
    chosen = table_range(request.GET, units=[unit])
    tables = [t for t in StatTable.objects.filter(is_active=True) if unit.kind in t.kinds]
    trends = [_trend(unit, table, chosen.year) for table in tables]
    return render(
        request,
        "rankings/unit.html",
        {"unit": unit, "range": chosen, "trends": trends, "months": MONTH_LABELS},
    )


def _trend(unit, table, year):
    series = selectors.unit_trend(unit, year=year, table=table)
    drawn = sum(not is_future(datetime.date(year, m, 1)) for m in range(1, 13))
    columns = {c.label: c for c in table.columns.all()}
    totals = [sum(values[m] for values in series.values()) for m in range(12)]
    base = reverse("stat_cell", args=[table.code]) + "?" + urlencode({"unit": unit.code, "year": year})
    rows = []
    for label, values in series.items():
        links = [f"{base}&column={columns[label].position}&from={m}&through={m}" for m in range(1, 13)]
        rows.append((label, list(zip(values, links, strict=True)), sum(values)))
    return {
        "table": table,
        "rows": rows,
        "totals": totals,
        "grand_total": sum(totals),
        "chart": {  # months that have not come yet are not drawn (they would show as 0)
            "months": MONTH_LABELS[:drawn],
            "series": [{"name": label, "data": values[:drawn]} for label, values in [("合计", totals), *series.items()]],
        },
        "chart_id": f"trend-{table.code}",
    }
