"""信用报告: a subject's records and marks as of a date, as a PDF and as a Word document.

Both are built from one CreditReport (the profile, the number, the office) with the
bulletin's stack: WeasyPrint with the bulletin's restricted URL fetcher (the report
names no external resource at all; its stylesheet is inlined), and python-docx with
the bulletin's page, styles and table helpers (GB/T 9704 page, 仿宋 body).
"""

import datetime
import io
from dataclasses import dataclass
from pathlib import Path

from django.template.loader import render_to_string
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.shared import Cm
from weasyprint import HTML

from bulletins.models import default_issuing_office
from bulletins.pdf import ASSET_BASE, RestrictedURLFetcher
from bulletins.render_docx import (
    BODY,
    MEDIA_TYPE,
    SECTION,
    SONGTI,
    TABLE_TEXT,
    TABLE_TITLE,
    _centered,
    _footer,
    _page,
    _paragraph,
    _repeat_as_header,
    _row,
    _run,
    _styles,
    _text_width,
    xml_safe,
)

from . import kinds
from .selectors import show_id_number

PDF_TYPE = "application/pdf"
DOCX_TYPE = MEDIA_TYPE
STYLESHEET = Path(__file__).resolve().parent / "static" / "lookup" / "report-print.css"
TABLE_HEADER = ("序号", "类别", "文书号", "日期", "来源单位（报送月份）", "内容")
PENALTY_HEADER = (*TABLE_HEADER, "公示截止期")
# Centimetres of each column but 内容, which takes the rest of the line.
_WIDTHS = (0.8, 2.0, 2.6, 1.9, 2.8)
_PUBLICITY_WIDTH = 2.4
NOTES = (
    "本报告根据各信源单位报送、并经市信用办审核通过的信用信息生成，只含信息截止日期（含当日）以前的记录。",
    "“当前列入黑名单”指列入地方黑名单或国家黑名单结果反馈、且此后没有退出黑名单记录；“公示期内的行政处罚”"
    "指公示截止期（未填写的按处罚有效期）不早于信息截止日期的行政处罚。",
    "报告编号已记入查询日志，可由市信用办核验。",
)


@dataclass
class CreditReport:
    number: str
    profile: object  # selectors.Profile
    issued_at: datetime.datetime
    issued_by: str
    office: str
    unmasked: bool

    @property
    def as_of(self):
        return self.profile.as_of

    @property
    def identifier(self):
        """(label, value) of the subject's code or ID number, masked unless `unmasked`."""
        subject = self.profile.subject
        if subject.credit_code:
            return "统一社会信用代码", subject.credit_code
        if subject.id_number:
            return "证件号码", show_id_number(subject.id_number, unmasked=self.unmasked)
        return "统一社会信用代码／证件号码", "（记录中未填写）"

    @property
    def head(self):
        """(label, value) lines of the report's head."""
        label, value = self.identifier
        return [
            ("报告编号", self.number),
            ("主体名称", self.profile.name),
            (label, value),
            ("曾用名或其他名称", "、".join(self.profile.other_names) or "无"),
            ("信息截止日期", f"{self.as_of:%Y年%m月%d日}"),
            ("出具单位", self.office),
            ("出具时间", f"{self.issued_at:%Y年%m月%d日 %H:%M}"),
            ("查询人", self.issued_by),
        ]

    @property
    def status_lines(self):
        m = self.profile.marks
        if m.blacklisted:
            black = f"是（自 {m.blacklisted_since:%Y-%m-%d} 起）"
        elif m.left_blacklist_on:
            black = f"否（曾列入，{m.left_blacklist_on:%Y-%m-%d} 已退出）"
        else:
            black = "否"
        penalties = f"{m.penalties_in_publicity} 条" if m.penalised else "无"
        if m.penalties_past_publicity:
            penalties += f"（另有已过公示期的 {m.penalties_past_publicity} 条）"
        red = f"是（自 {m.redlisted_since:%Y-%m-%d} 起）" if m.redlisted else "否"
        return [("核查结论", m.verdict), ("当前列入黑名单", black), ("公示期内的行政处罚", penalties),
                ("列入红名单", red), ("记录合计", f"{m.total} 条")]

    @property
    def sections(self):
        """(heading, header, rows of cell texts) per kind of record."""
        result = []
        numerals = "一二三四五六七八九十"
        for index, (kind, items) in enumerate(self.profile.sections):
            penalty = kind is kinds.PENALTY
            rows = []
            for number, item in enumerate(items, start=1):
                record = item.record
                row = [str(number), record.category.name, item.doc_number or "—",
                       f"{record.record_date:%Y-%m-%d}" if record.record_date else "—",
                       f"{record.unit.name}（{item.period:%Y年%m月}）", item.summary or "—"]
                if penalty:
                    end = f"{item.publicity_end:%Y-%m-%d}" if item.publicity_end else "未填写"
                    if item.publicity_source and item.publicity_source != "公示截止期":
                        end += f"（按{item.publicity_source}）"
                    row.append(end + ("，公示期内" if item.in_publicity else "，已过公示期"))
                rows.append(row)
            heading = f"（{numerals[index] if index < len(numerals) else index + 1}）{kind.label}（{len(items)} 条）"
            result.append((heading, PENALTY_HEADER if penalty else TABLE_HEADER, rows))
        return result


def credit_report(*, number, profile, user, unmasked, now):
    if user is None:
        issued_by = "命令行（服务器管理员）"
    else:
        issued_by = f"{user}（{user.unit.name if user.unit_id else '市信用办'}）"
    return CreditReport(number=number, profile=profile, issued_at=now, issued_by=issued_by,
                        office=default_issuing_office(), unmasked=unmasked)


# --- PDF ----------------------------------------------------------------------------


def report_html(report):
    return render_to_string("lookup/report_print.html", {
        "report": report, "stylesheet": STYLESHEET.read_text(encoding="utf-8"), "notes": NOTES,
    })


def report_pdf(report):
    html = HTML(string=report_html(report), base_url=ASSET_BASE, url_fetcher=RestrictedURLFetcher())
    return html.write_pdf()


# --- DOCX ---------------------------------------------------------------------------


def report_docx(report):
    document = Document()
    _page(document.sections[0], landscape=False)
    _styles(document)
    _footer(document.sections[0])
    document.core_properties.title = xml_safe(f"信用报告 {report.number}")
    document.core_properties.author = xml_safe(report.office)
    _run(_centered(document, before=12, after=18, line=44), "信用报告", font=SONGTI, size=26, bold=True,
         spacing=6)
    _table(document, ("项目", "内容"), report.head, widths=(Cm(4.2), None))
    _paragraph(document, SECTION, "一、信用状况")
    _table(document, ("项目", "内容"), report.status_lines, widths=(Cm(4.2), None))
    _paragraph(document, SECTION, "二、信用记录")
    if not report.sections:
        _paragraph(document, BODY, "信息截止日期以前没有该主体的记录。")
    for heading, header, rows in report.sections:
        _paragraph(document, TABLE_TITLE, heading)
        _table(document, header, rows)
    _paragraph(document, SECTION, "三、说明")
    for index, note in enumerate(NOTES, start=1):
        _paragraph(document, BODY, f"{index}. {note}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table(document, header, rows, widths=None):
    total = _text_width(document.sections[-1])
    if widths is None:
        widths = _record_widths(len(header), total)
    else:
        widths = [w if w is not None else total - sum(x for x in widths if x is not None) for w in widths]
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _row(table.rows[0], list(header), widths, style=TABLE_TEXT, bold=True, header=True)
    _repeat_as_header(table.rows[0])
    for row, cells in zip(table.rows[1:], rows, strict=True):
        _row(row, [str(c) for c in cells], widths, style=TABLE_TEXT)
    return table


def _record_widths(columns, total):
    fixed = [Cm(w) for w in _WIDTHS]
    tail = [Cm(_PUBLICITY_WIDTH)] if columns == len(PENALTY_HEADER) else []
    return [*fixed, total - sum(fixed) - sum(tail), *tail]
