"""A computed statistics table as a file: xlsx laid out like the bulletin, CSV for Excel, JSON.

Numbers are written as numbers.  Text (unit names, labels, titles: all editable
by someone) goes through reporting.exports' sanitisers, so nothing becomes a formula.
"""

import csv
import io
import json
import math
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from reporting.exports import _display_width, sanitize_cell, sanitize_csv
from reporting.models import UnitKind

NUMBER_HEADER = "序号"
TOTAL_LABEL = "合计"
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
}

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TITLE_FONT = Font(bold=True, size=16)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_SHEET_NAME_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def name_header(table):
    """The name column's heading, as in the bulletin: 地区 for counties and parks, else 部门名称."""
    return "地区" if set(table.kinds) <= {UnitKind.COUNTY, UnitKind.PARK} else "部门名称"


def export_filename(computed, fmt):
    return f"{_SHEET_NAME_UNSAFE.sub('', computed.title) or computed.table.code}.{fmt}"


def table_json(computed):
    return json.dumps(computed.as_dict(), ensure_ascii=False)


def table_csv(computed):
    """UTF-8 with a BOM so that Excel opens it; one line per unit, then 合计."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([sanitize_csv(v) for v in (NUMBER_HEADER, "单位编码", "单位", "分组", *computed.labels)])
    for group in computed.groups:
        for row in group.rows:
            text = [sanitize_csv(v) for v in (row.unit.code, row.unit.short_name, group.label)]
            writer.writerow([row.number, *text, *(row.values[label] for label in computed.labels)])
    writer.writerow(["", "", TOTAL_LABEL, "", *(computed.totals[label] for label in computed.labels)])
    return out.getvalue().encode("utf-8-sig")


# --- xlsx ------------------------------------------------------------------------


def table_xlsx(computed):
    """The bulletin's layout: title, header, (合计), group header rows, one row per unit; A4 landscape."""
    table = computed.table
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _SHEET_NAME_UNSAFE.sub("", table.name)[:31] or "统计表"
    lead = [NUMBER_HEADER, name_header(table)] if table.numbered else [name_header(table)]
    width = len(lead) + len(computed.labels)

    _append(sheet, [computed.title], font=_TITLE_FONT, align=_CENTER, border=False)
    _merge_row(sheet, width)
    sheet.row_dimensions[1].height = 32
    _append(sheet, lead + computed.labels, font=_BOLD, align=_CENTER, fill=_HEADER_FILL)
    if table.show_total_row:
        _append(sheet, _lead_cells(table, "", TOTAL_LABEL) + _numbers(computed.totals, computed), font=_BOLD)
        _merge_lead(sheet, table)
    for group in computed.groups:
        if table.show_group_headers:
            _append(sheet, [group.label] + [None] * (width - 1), font=_BOLD, align=_LEFT, fill=_HEADER_FILL)
            _merge_row(sheet, width)
        for row in group.rows:
            _append(sheet, _lead_cells(table, row.number, row.unit.short_name) + _numbers(row.values, computed))

    _layout(sheet, computed, lead)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _lead_cells(table, number, name):
    return [number, name] if table.numbered else [name]


def _numbers(values, computed):
    return [int(values[label]) for label in computed.labels]


def _append(sheet, values, *, font=None, align=None, fill=None, border=True):
    sheet.append([sanitize_cell(v, sheet) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if border:
            cell.border = _BORDER
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if align is not None:
            cell.alignment = align
        elif isinstance(cell.value, int):
            cell.alignment = _CENTER
        else:
            cell.alignment = _LEFT


def _merge_row(sheet, width):
    row = sheet.max_row
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)


def _merge_lead(sheet, table):
    """合计 spans the 序号 and name columns."""
    if table.numbered:
        row = sheet.max_row
        sheet.cell(row=row, column=1).value = TOTAL_LABEL
        sheet.cell(row=row, column=2).value = None
        sheet.cell(row=row, column=1).alignment = _CENTER
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)


def _layout(sheet, computed, lead):
    """Column widths, wrapped header, borders, and an A4 landscape print fitted to the page width."""
    names = [row.unit.short_name for row in computed.rows] + [lead[-1], TOTAL_LABEL]
    widths = [6] if len(lead) == 2 else []
    widths.append(min(max(_display_width(n) for n in names) + 2, 30))
    header_lines = 1
    for label in computed.labels:
        biggest = max([computed.totals[label]] + [r.values[label] for r in computed.rows])
        column_width = max(8, min(12, math.ceil(_display_width(label) / 3) + 2), len(str(biggest)) + 2)
        widths.append(column_width)
        header_lines = max(header_lines, math.ceil(_display_width(label) / (column_width - 1)))
    for index, column_width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column_width
    sheet.row_dimensions[2].height = 15 * header_lines + 6
    first_body_row = 4 if computed.table.show_total_row else 3  # 合计 stays in view with the header
    sheet.freeze_panes = f"{get_column_letter(len(lead) + 1)}{first_body_row}"

    setup = sheet.page_setup
    setup.orientation = "landscape"
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.print_title_rows = "1:2"
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
