"""The issue as a Word document (.docx), editable in Word and WPS.

(Named render_docx, not docx, so that it can never shadow the python-docx package.)

Everything is built through python-docx's API, which escapes text: no XML is
ever written as a string.  The few properties python-docx has no API for (the
red rule, East Asian font names, the repeated header row, the page number
field) are set by creating elements and attributes, never by parsing markup.

Layout follows GB/T 9704: A4, margins 3.7 / 3.5 / 2.8 / 2.6 cm, 三号 (16pt)
仿宋 body with a two-character first-line indent, 黑体 section headings,
宋体 titles; the department table gets a landscape page.  Font names are
resolved on the reader's machine (仿宋, 黑体, 宋体 ship with Chinese Windows and WPS).
"""

import io
import re

from django.utils import timezone
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt, RGBColor

from .document import issue_sections
from .models import MASTHEAD_SUBTITLE

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RED = RGBColor(0xE6, 0x00, 0x00)
FANGSONG, HEITI, SONGTI = "仿宋", "黑体", "宋体"
A4 = (Cm(21), Cm(29.7))
MARGINS = {"top": Cm(3.7), "bottom": Cm(3.5), "left": Cm(2.8), "right": Cm(2.6)}
WIDE_MARGINS = {"top": Cm(2), "bottom": Cm(2), "left": Cm(1.6), "right": Cm(1.6)}
# What may follow <w:pBdr> inside <w:pPr> (ECMA-376 sequence), so that the border goes in its place.
_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)
# Our paragraph styles: (shown name, id).  Paragraphs get the id directly: assigning a
# style by name makes python-docx scan every style, for every paragraph and table cell.
BODY, SECTION, TITLE, SOURCE, TABLE_TITLE, TABLE_TEXT, WIDE_TABLE_TEXT = (
    ("简报正文", "BulletinBody"), ("简报栏目", "BulletinSection"), ("简报标题", "BulletinTitle"),
    ("简报来源", "BulletinSource"), ("表格标题", "BulletinTableTitle"), ("表格文字", "BulletinTableText"),
    ("宽表文字", "BulletinWideTableText"),
)
# What may follow <w:spacing> inside <w:rPr>.
_AFTER_SPACING = (
    "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
    "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath",
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text):
    """Text without the control characters XML cannot hold (pasted from PDFs, say)."""
    return _NOT_XML.sub("", str(text))


def bulletin_docx(bulletin):
    document = Document()
    _page(document.sections[0], landscape=False)
    _styles(document)
    _footer(document.sections[0])
    _properties(document, bulletin)
    _masthead(document, bulletin)
    for section in issue_sections(bulletin):
        _paragraph(document, SECTION, section.heading)
        for article in section.articles:
            _article(document, article, brief=section.is_briefs)
        for table in section.tables:
            _table(document, table)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _properties(document, bulletin):
    """File properties as the office's own document (python-docx's template says python-docx, 2013)."""
    office = xml_safe(bulletin.issuing_office)
    now = timezone.now().replace(microsecond=0)
    properties = document.core_properties
    properties.title = xml_safe(str(bulletin))
    properties.subject = "工作简报"
    properties.author = properties.last_modified_by = office
    properties.comments = ""
    properties.keywords = "工作简报；信用信息"
    properties.language = "zh-CN"
    properties.created = properties.modified = now
    properties.revision = 1


# --- page, styles, footer ---------------------------------------------------------


def _page(section, *, landscape):
    width, height = A4
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = height, width
        margins = WIDE_MARGINS
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = width, height
        margins = MARGINS
    section.top_margin, section.bottom_margin = margins["top"], margins["bottom"]
    section.left_margin, section.right_margin = margins["left"], margins["right"]


def _text_width(section):
    return section.page_width - section.left_margin - section.right_margin


def _east_asian(element, name):
    """Set the font of ASCII and East Asian text on a style's or run's rPr."""
    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def _style(document, name_and_id, *, font, size, bold=False, align=None, indent=False, line=None, before=0, after=0):
    name, style_id = name_and_id
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = style_id
    style.base_style = document.styles["Normal"]
    style.font.size = Pt(size)
    style.font.bold = bold
    _east_asian(style.element, font)
    fmt = style.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if line:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    if align is not None:
        fmt.alignment = align
    if indent:
        fmt.first_line_indent = Pt(2 * size)
    return style


def _styles(document):
    normal = document.styles["Normal"]
    normal.font.size = Pt(16)
    _east_asian(normal.element, FANGSONG)
    _style(document, BODY, font=FANGSONG, size=16, line=28, indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _style(document, SECTION, font=HEITI, size=16, line=28, before=12, after=6).paragraph_format.keep_with_next = True
    _style(document, TITLE, font=SONGTI, size=22, bold=True, line=34, before=6, after=12,
           align=WD_ALIGN_PARAGRAPH.CENTER).paragraph_format.keep_with_next = True
    _style(document, SOURCE, font=FANGSONG, size=16, line=28, after=12, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _style(document, TABLE_TITLE, font=HEITI, size=14, bold=True, after=8, align=WD_ALIGN_PARAGRAPH.CENTER)
    _style(document, TABLE_TEXT, font=SONGTI, size=9)
    _style(document, WIDE_TABLE_TEXT, font=SONGTI, size=8)


def _paragraph(container, style, text=""):
    paragraph = container.add_paragraph(xml_safe(text))
    paragraph._p.style = style[1]
    return paragraph


def _footer(section):
    """"- N -" centred at the foot of every page (later sections inherit it)."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("- ")
    run = paragraph.add_run()
    begin, instruction, end = OxmlElement("w:fldChar"), OxmlElement("w:instrText"), OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = " PAGE "
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, instruction, end):
        run._r.append(element)
    paragraph.add_run(" -")
    for item in paragraph.runs:
        item.font.size = Pt(14)


# --- masthead and articles --------------------------------------------------------


def _run(paragraph, text, *, font, size, bold=False, color=None, spacing=None):
    run = paragraph.add_run(xml_safe(text))
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    _east_asian(run._r, font)
    if spacing is not None:
        spacing_element = OxmlElement("w:spacing")
        spacing_element.set(qn("w:val"), str(int(spacing * 20)))  # twentieths of a point
        run._r.get_or_add_rPr().insert_element_before(spacing_element, *_AFTER_SPACING)
    return run


def _centered(document, *, before=0, after=0, line=None):
    paragraph = document.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.first_line_indent = Pt(0)
    if line:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    return paragraph


def _masthead(document, bulletin):
    """The red head of the first page: title, 工作简报, issue number, office and date, red rule."""
    _run(_centered(document, before=12, line=44), bulletin.masthead, font=SONGTI, size=30, bold=True, color=RED,
         spacing=4)
    _run(_centered(document, line=72), MASTHEAD_SUBTITLE, font=SONGTI, size=52, bold=True, color=RED, spacing=14)
    _run(_centered(document, before=6, after=12), bulletin.label, font=FANGSONG, size=16)
    meta = document.add_paragraph()
    meta.paragraph_format.first_line_indent = Pt(0)
    meta.paragraph_format.space_after = Pt(14)
    meta.paragraph_format.tab_stops.add_tab_stop(_text_width(document.sections[0]), WD_TAB_ALIGNMENT.RIGHT)
    _run(meta, f"{bulletin.issuing_office}\t{bulletin.date_label}", font=FANGSONG, size=14)
    _red_rule(meta)


def _red_rule(paragraph):
    border, bottom = OxmlElement("w:pBdr"), OxmlElement("w:bottom")
    for attribute, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "4"), ("w:color", "E60000")):
        bottom.set(qn(attribute), value)
    border.append(bottom)
    ppr = paragraph._p.get_or_add_pPr()
    ppr.insert_element_before(border, *_AFTER_PBDR)


def _article(document, article, *, brief):
    lines = article.title_lines
    if lines:
        title = _paragraph(document, TITLE)
        for index, line in enumerate(lines):
            if index:
                title.add_run().add_break(WD_BREAK.LINE)
            title.add_run(xml_safe(line))
    for index, text in enumerate(article.paragraphs):
        prefix = "◆ " if brief and not lines and index == 0 else ""
        _paragraph(document, BODY, prefix + text)
    if article.source_line:
        _paragraph(document, SOURCE, article.source_line)


# --- tables -----------------------------------------------------------------------


def _table(document, view):
    """A real Word table: header row (repeated on every page), 合计 or group rows, one row per unit."""
    if view.is_wide:
        _page(document.add_section(WD_SECTION.NEW_PAGE), landscape=True)
        _paragraph(document, TABLE_TITLE, view.title)
    else:
        _paragraph(document, TABLE_TITLE, view.title).paragraph_format.page_break_before = True
    style = WIDE_TABLE_TEXT if view.is_wide else TABLE_TEXT
    widths = _column_widths(view, _text_width(document.sections[-1]), font_size=8 if view.is_wide else 9)
    table = document.add_table(rows=1 + len(view.rows), cols=view.width)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _fixed_widths(table, widths)

    _row(table.rows[0], view.header, widths, style=style, bold=True, header=True)
    _repeat_as_header(table.rows[0])
    lead = 2 if view.numbered else 1
    for row, item in zip(table.rows[1:], view.rows, strict=True):
        if item.kind == "group":
            _row(row, [item.name] + [""] * (view.width - 1), widths, style=style, bold=True)
            row.cells[0].merge(row.cells[-1])
        elif item.kind == "total":
            cells = ([item.name, ""] if view.numbered else [item.name]) + item.cells
            _row(row, cells, widths, style=style, bold=True, lead=lead)
            if view.numbered:
                row.cells[0].merge(row.cells[1])
                row.cells[0].paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        else:
            cells = ([item.number, item.name] if view.numbered else [item.name]) + item.cells
            _row(row, cells, widths, style=style, lead=lead)
            _no_wrap(row.cells[lead - 1])


# A cell's default left and right margins together (Word and WPS: 0.19 cm each), and a little slack.
CELL_PADDING = Cm(0.5)


def _column_widths(view, total, *, font_size):
    """序号 and the unit name wide enough for the longest name on one line; the numbers share the rest."""
    names = [view.name_header] + [item.name for item in view.rows if item.kind not in ("group", "total")]
    longest = max((_text_length(name) for name in names), default=4)
    name = Emu(max(Cm(2.6 if view.numbered else 2.8), int(Pt(font_size) * longest) + CELL_PADDING))
    lead = [Cm(1.0), name] if view.numbered else [name]
    rest = Emu((total - sum(lead)) // len(view.columns))
    return lead + [rest] * len(view.columns)


def _text_length(text):
    """Width in em: a CJK character is one, a Latin letter or digit about half."""
    return sum(1 if ord(c) > 0x2E7F else 0.55 for c in str(text))


def _fixed_widths(table, widths):
    """Word reads each cell's width, LibreOffice and WPS the table's grid: write both, and the table's width,
    so that every program lays the table out the same (the unit name on one line)."""
    for column, width in zip(table._tbl.tblGrid.gridCol_lst, widths, strict=True):
        column.w = width
    properties = table._tbl.tblPr
    table_width = properties.find(qn("w:tblW"))
    if table_width is None:
        table_width = OxmlElement("w:tblW")
        properties.append(table_width)
    table_width.set(qn("w:type"), "dxa")
    table_width.set(qn("w:w"), str(sum(w.twips for w in widths)))


def _no_wrap(cell):
    marker = OxmlElement("w:noWrap")
    cell._tc.get_or_add_tcPr().insert_element_before(
        marker, "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark", "w:headers", "w:cellIns",
        "w:cellDel", "w:cellMerge", "w:tcPrChange",
    )


def _row(row, texts, widths, *, style, bold=False, header=False, lead=None):
    for index, (cell, text, width) in enumerate(zip(row.cells, texts, widths, strict=True)):
        cell.width = width
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        paragraph = cell.paragraphs[0]
        paragraph._p.style = style[1]
        if header or (lead and index == 0 and lead == 2):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif lead and index >= lead:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if text:
            run = paragraph.add_run(xml_safe(text))
            if bold:
                run.font.bold = True


def _repeat_as_header(row):
    marker = OxmlElement("w:tblHeader")
    marker.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(marker)
