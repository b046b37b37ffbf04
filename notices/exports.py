"""The reporting-rate matrix as an Excel workbook (openpyxl, write-only; every text cell sanitised)."""

import io

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

from reporting.exports import sanitize_cell
from reporting.models import UnitKind

from .rates import STATES, percent

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILLS = {
    "accepted": "C6EFCE",
    "submitted": "DDEBF7",
    "returned": "FFEB9C",
    "draft": "EDEDED",
    "missing": "FFC7CE",
}


def rates_filename(matrix):
    scope = UnitKind(matrix.kind).label if matrix.kind else "全部单位"
    return f"{matrix.year}年报送情况（{scope}）.xlsx"


def rates_xlsx(matrix):
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("报送情况")
    bold = Font(bold=True)
    fills = {state: PatternFill("solid", fgColor=color) for state, color in FILLS.items()}

    def text(value, **style):
        cell = sanitize_cell(value, sheet)
        if not style:
            return cell
        if not hasattr(cell, "font"):
            cell = openpyxl.cell.WriteOnlyCell(sheet, value=cell)
        for name, attr in style.items():
            setattr(cell, name, attr)
        return cell

    sheet.append([text(f"{matrix.year}年各信源单位月度报表报送情况（截至 {matrix.today:%Y-%m-%d}）", font=Font(bold=True,
                                                                                                         size=14))])
    sheet.append([text("应报：截止日已过或已提前提交的月份；完整率 = 已通过 / 应报；按时率 = 按时报送 / 应报；"
                       "已提交待审核的报表不计入完整率。")])
    headers = ["单位编码", "单位", "类型", "联系人", "联系电话", "电子邮件",
               *[f"{m}月" for m in matrix.months], "应报", "已提交", "已通过", "按时", "待审核", "完整率", "按时率"]
    sheet.append([text(h, font=bold, alignment=Alignment(horizontal="center", wrap_text=True)) for h in headers])
    for row in matrix.rows:
        contact = row.contact
        cells = [
            text(row.unit.code), text(row.unit.short_name), text(row.unit.get_kind_display()),
            text(contact.person if contact else ""), text(contact.phone if contact else ""),
            text(", ".join(contact.email_list) if contact else ""),
        ]
        for cell in row.cells:
            label = "" if cell.state == "future" else STATES[cell.state][0] + ("（逾期）" if cell.late else "")
            style = {"fill": fills[cell.state]} if cell.state in fills else {}
            cells.append(text(label, **style) if style and label else text(label))
        c = row.counts
        cells += [c.due, c.submitted, c.accepted, c.on_time, c.pending, percent(c.completeness),
                  percent(c.on_time_rate)]
        sheet.append(cells)
    for label, attr in (("完整率", "completeness"), ("按时率", "on_time_rate")):
        values = [percent(getattr(counts, attr)) for counts in matrix.month_counts]
        total = percent(getattr(matrix.total, attr))
        sheet.append([text(f"各月{label}", font=bold), None, None, None, None, None, *values,
                      None, None, None, None, None, total if attr == "completeness" else None,
                      total if attr == "on_time_rate" else None])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
