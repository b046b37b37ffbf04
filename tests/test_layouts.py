"""Reading sheets laid out the way offices save them (reporting.excel).

Every layout — title rows, merged titles and notes above the header, a table
starting in column B or row 5, blank columns and rows, hidden columns, other
sheets before the data sheet — gives the same rows at every size, with the
row numbers Excel shows and cells[0] in column A.  Files are built with
openpyxl, or as raw XML where openpyxl cannot write what offices' files hold.
"""

import csv
import datetime
import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from reporting import excel
from reporting.excel import UploadRefused, iter_sheets, iter_table, read_table

HEADERS = ["文书号", "相对人名称", "许可类别", "决定日期", "金额"]
BIG = 30_000  # rows; more than reporting/xlsx_parts.py (removed) read in one part


def row_values(n):
    """Data row n (0-based) of the test table; column 3 blank on every 5th row."""
    return [f"文书〔2019〕第{n}号", f"某某公司{n}", "普通" if n % 5 else "", datetime.date(2019, 8, 1 + n % 28), n + 0.5]


def by_header(head):
    """A `choose` of our own: the most cells of one row equal to the expected headers."""
    return max((sum(cell in HEADERS for cell in cells) for _, cells in head), default=0)


def relative(rows):
    """Rows from the header on, as (rows below the header, cells from the header's first column)."""
    header_number, header = next((n, c) for n, c in rows if "文书号" in c)
    left = header.index("文书号")
    return [(n - header_number, cells[left:]) for n, cells in rows if n >= header_number]


def expected(count, gaps=()):
    """relative() of a table of `count` rows, with blank rows after the data rows in `gaps` left out."""
    out, offset = [(0, list(HEADERS))], 1
    for n in range(count):
        out.append((offset, row_values(n)))
        offset += 2 if n in gaps else 1
    return out


# --- building files ------------------------------------------------------------------


def write_layout(path, count, *, top=1, left=1, title=False, merged=False, note=False, gaps=(),
                 hidden_columns=(), blank_first_field=False, sheets_before=(), hidden_sheet=False):
    """The test table with its header at (top, left) (1-based), as openpyxl writes it."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    for k, (name, rows) in enumerate(sheets_before):
        sheet = first if k == 0 else workbook.create_sheet()
        sheet.title = name
        for row in rows:
            sheet.append(row)
    sheet = workbook.create_sheet("数据") if sheets_before else first
    if not sheets_before:
        sheet.title = "数据"
    if hidden_sheet:
        decoy = workbook.create_sheet("旧数据", 0)
        decoy.append(HEADERS)
        decoy.append(["旧"] * len(HEADERS))
        decoy.sheet_state = "hidden"
    if title:
        sheet.cell(1, left, "某某局行政许可信息公示表")
        if merged:
            sheet.merge_cells(start_row=1, start_column=left, end_row=1, end_column=left + len(HEADERS) - 1)
    if note:
        sheet.cell(2, left, "注：带 * 的为必填项，日期格式为 2019-08-01。")
    for j, header in enumerate(HEADERS):
        sheet.cell(top, left + j, header)
    row = top + 1
    for n in range(count):
        for j, value in enumerate(row_values(n)):
            if not (blank_first_field and j == 0) and value != "":
                sheet.cell(row, left + j, value)
        row += 2 if n in gaps else 1
    for letter in hidden_columns:
        sheet.column_dimensions[letter].hidden = True
    workbook.save(path)
    return path


def column_letter(index):
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def raw_cell(ref, value, shared=None):
    """A <c> element: str values inline (or shared when a list is given), numbers as <v>."""
    if isinstance(value, str):
        if shared is not None:
            shared.append(escape(value))
            return f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def raw_rows(rows, *, top=1, left=0, shared=None):
    """<row> elements for rows of values starting at (top, left), 1-based row and 0-based column."""
    out = []
    for i, values in enumerate(rows):
        r = top + i
        cells = "".join(raw_cell(f"{column_letter(left + j)}{r}", v, shared) for j, v in enumerate(values) if v != "")
        out.append(f'<row r="{r}">{cells}</row>')
    return "".join(out)


STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
          '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
          '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
          '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>')


def write_raw(path, sheets, *, shared=None, hidden=(), prefix="", styles=False):
    """An .xlsx from raw worksheet XML: sheets is a list of (name, sheet XML inside <worksheet>)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns{":" + prefix if prefix else ""}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    types = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/xl/workbook.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>']
    relations = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">']
    entries = []
    for k, (name, _) in enumerate(sheets, start=1):
        types.append(f'<Override PartName="/xl/worksheets/sheet{k}.xml" '
                     'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
        relations.append(f'<Relationship Id="rId{k}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                         f'relationships/worksheet" Target="worksheets/sheet{k}.xml"/>')
        state = ' state="hidden"' if name in hidden else ""
        entries.append(f'<sheet name="{escape(name)}" sheetId="{k}"{state} r:id="rId{k}"/>')
    if shared is not None:
        types.append('<Override PartName="/xl/sharedStrings.xml" '
                     'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
        relations.append('<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                         'relationships/sharedStrings" Target="sharedStrings.xml"/>')
    if styles:
        types.append('<Override PartName="/xl/styles.xml" '
                     'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>')
        relations.append('<Relationship Id="rIdY" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                         'relationships/styles" Target="styles.xml"/>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if styles:
            archive.writestr("xl/styles.xml", STYLES)
        archive.writestr("[Content_Types].xml", "".join(types) + "</Types>")
        archive.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                         'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                         '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                         + "".join(entries) + "</sheets></workbook>")
        archive.writestr("xl/_rels/workbook.xml.rels", "".join(relations) + "</Relationships>")
        for k, (_, body) in enumerate(sheets, start=1):
            archive.writestr(f"xl/worksheets/sheet{k}.xml",
                             f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}worksheet {xmlns}>'
                             + body + f"</{p}worksheet>")
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml",
                             '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                             '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                             + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>")
    return path


# --- what calamine 0.9.1 does, and what iter_table makes of it -------------------------


def test_calamine_iter_rows_starts_at_row_1_but_at_the_first_used_column(tmp_path):
    """PITFALLS: iter_rows() does not start at A1.  In 0.9.1 it starts at row 1 and at the first used column."""
    path = write_layout(tmp_path / "b3.xlsx", 2, top=3, left=2, title=True, merged=True, note=True)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert sheet.start == (0, 1) and sheet.end == (4, 5)
    assert sheet.merged_cell_ranges == [((0, 1), (0, 5))]
    rows = list(sheet.iter_rows())
    assert rows[0][0] == "某某局行政许可信息公示表" and rows[2] == HEADERS  # column B first

    path = write_raw(tmp_path / "c5.xlsx", [("数据", "<sheetData>" + raw_rows([["a", "b"], [1, ""]], top=5, left=2)
                                            + "</sheetData>")])
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert sheet.start == (4, 2)
    assert list(sheet.iter_rows()) == [["", ""]] * 4 + [["a", "b"], [1.0, ""]]  # rows from 1, columns from C
    assert sheet.to_python() == [["a", "b"], [1.0, ""]]  # to_python skips both
    assert read_table(path, "xlsx")[1] == [(5, ["", "", "a", "b"]), (6, ["", "", 1.0, ""])]


def test_table_at_b3_under_a_merged_title_and_a_note_keeps_excel_positions(tmp_path):
    path = write_layout(tmp_path / "b3.xlsx", 3, top=3, left=2, title=True, merged=True, note=True)
    name, rows = read_table(path, "xlsx")
    assert name == "数据"
    assert rows[0] == (1, ["", "某某局行政许可信息公示表", "", "", "", ""])
    assert rows[1][0] == 2 and rows[1][1][:2] == ["", "注：带 * 的为必填项，日期格式为 2019-08-01。"]
    assert rows[2] == (3, [""] + HEADERS)
    assert rows[3][0] == 4 and rows[3][1][:3] == ["", "文书〔2019〕第0号", "某某公司0"]
    assert relative(rows) == expected(3)


LAYOUTS = {
    "header in A1": dict(top=1, left=1),
    "merged title, note, header in B3": dict(top=3, left=2, title=True, merged=True, note=True),
    "title row, header in A2": dict(top=2, left=1, title=True),
    "table from column B": dict(top=1, left=2),
    "header in row 5": dict(top=5, left=1),
    "header in D6 under a title": dict(top=6, left=4, title=True),
    "blank first field": dict(top=1, left=1, blank_first_field=True),
    "blank rows between data rows": dict(top=2, left=2, gaps=(0, 1, 2, 7, 100, 29_998)),
    "hidden columns": dict(top=1, left=1, hidden_columns=("B", "D", "H")),
}


def write_raw_layout(path, count, *, top=1, left=1, title=False, merged=False, note=False, gaps=(),
                     hidden_columns=(), blank_first_field=False):
    """write_layout's table as Excel saves it (shared strings, dates as styled serials), written fast."""
    shared, rows = [], []
    if title:
        rows.append((1, [(left, "某某局行政许可信息公示表")]))
    if note:
        rows.append((2, [(left, "注：带 * 的为必填项，日期格式为 2019-08-01。")]))
    rows.append((top, [(left + j, header) for j, header in enumerate(HEADERS)]))
    number = top + 1
    for n in range(count):
        values = row_values(n)
        rows.append((number, [(left + j, v) for j, v in enumerate(values) if v != "" and not (blank_first_field and j == 0)]))
        number += 2 if n in gaps else 1
    xml = []
    for r, cells in rows:
        out = []
        for column, value in cells:
            ref = f"{column_letter(column - 1)}{r}"
            if isinstance(value, datetime.date):
                out.append(f'<c r="{ref}" s="1"><v>{(value - datetime.date(1899, 12, 30)).days}</v></c>')
            else:
                out.append(raw_cell(ref, value, shared))
        xml.append(f'<row r="{r}">{"".join(out)}</row>')
    cols = "".join(f'<col min="{ord(c) - 64}" max="{ord(c) - 64}" width="9" hidden="1" customWidth="1"/>'
                   for c in hidden_columns)
    first, last = column_letter(left - 1), column_letter(left + len(HEADERS) - 2)
    merges = f'<mergeCells count="1"><mergeCell ref="{first}1:{last}1"/></mergeCells>' if merged else ""
    body = (f'<dimension ref="A1:{last}{number}"/>' + (f"<cols>{cols}</cols>" if cols else "")
            + f'<sheetData>{"".join(xml)}</sheetData>{merges}')
    return write_raw(path, [("数据", body)], shared=shared, styles=True)


@pytest.fixture(scope="module")
def layout_files(tmp_path_factory):
    """Each layout written once at 3 rows and once at BIG rows."""
    folder = tmp_path_factory.mktemp("layouts")
    return {
        (name, count): write_raw_layout(folder / f"{k}-{count}.xlsx", count, **options)
        for k, (name, options) in enumerate(LAYOUTS.items())
        for count in (3, BIG)
    }


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_gives_the_same_rows_at_every_size(layout, layout_files):
    options = LAYOUTS[layout]
    small = read_table(layout_files[layout, 3], "xlsx", by_header)[1]
    name, total, rows = iter_table(layout_files[layout, BIG], "xlsx", by_header)
    big = list(rows)
    gaps = options.get("gaps", ())
    want = expected(BIG, gaps)
    if options.get("blank_first_field"):
        want = [(0, want[0][1])] + [(k, [""] + cells[1:]) for k, cells in want[1:]]
    assert relative(big) == want
    assert relative(small) == want[:4]
    assert big[:len(small)] == small  # the same rows, numbers and cells, whatever the size
    header_number = next(n for n, cells in big if "文书号" in cells)
    assert header_number == options["top"]
    assert all(cells.index("文书号") == options["left"] - 1 for n, cells in big if n == header_number)
    assert name == "数据" and total == big[-1][0]
    first_data = next(cells for n, cells in big if n == header_number + 1)
    assert len(first_data) == options["left"] - 1 + len(HEADERS)  # padded from column A, nothing shifted


def test_openpyxl_file_at_size_gives_the_rows_of_the_excel_like_one(tmp_path, layout_files):
    layout = "merged title, note, header in B3"
    path = write_layout(tmp_path / "openpyxl.xlsx", 5000, **LAYOUTS[layout])  # openpyxl writes slowly
    name, rows = read_table(path, "xlsx", by_header)
    assert (name, rows) == ("数据", read_table(layout_files[layout, BIG], "xlsx", by_header)[1][:len(rows)])
    assert len(rows) == 3 + 5000


def test_blank_rows_are_left_out_with_the_row_numbers_of_the_others_kept(tmp_path):
    path = write_layout(tmp_path / "gaps.xlsx", 4, top=4, left=1, gaps=(1,))
    rows = read_table(path, "xlsx")[1]
    assert [n for n, _ in rows] == [4, 5, 6, 8, 9]  # rows 1-3 and 7 are blank


def test_hidden_column_cells_are_read_like_any_other(tmp_path):
    path = write_layout(tmp_path / "hidden.xlsx", 2, hidden_columns=("A", "C"))
    rows = read_table(path, "xlsx")[1]
    assert rows[0] == (1, HEADERS)
    assert rows[1][1][:3] == ["文书〔2019〕第0号", "某某公司0", ""]


# --- which sheet -----------------------------------------------------------------------

INSTRUCTIONS = [["一、本表用于报送行政许可信息。"], ["二、“文书号”填写许可决定书的文号。"], ["三、日期格式：2019-08-01。"]]


def test_hidden_sheet_is_skipped(tmp_path):
    path = write_layout(tmp_path / "hidden-sheet.xlsx", 2, hidden_sheet=True)
    assert read_table(path, "xlsx", by_header)[0] == "数据"
    assert read_table(path, "xlsx")[0] == "数据"
    assert [name for name, _, _ in iter_sheets(path)] == ["数据"]


@pytest.mark.parametrize("name", ["使用说明", "说明", "Sheet1", "填表说明"])
def test_instructions_sheet_of_any_name_before_the_data_loses_by_score(tmp_path, name):
    path = write_layout(tmp_path / "instructions.xlsx", 3, top=2, title=True, sheets_before=[(name, INSTRUCTIONS)])
    sheet, rows = read_table(path, "xlsx", by_header)
    assert sheet == "数据"
    assert relative(rows) == expected(3)
    # Without `choose` only the name 填表说明 is passed over (the behaviour before choose existed).
    assert read_table(path, "xlsx")[0] == ("数据" if name == "填表说明" else name)


def test_the_sheet_whose_header_matches_best_wins_and_the_first_on_ties(tmp_path):
    path = tmp_path / "two.xlsx"
    workbook = openpyxl.Workbook()
    partial = workbook.active
    partial.title = "汇总"
    partial.append(HEADERS[:2] + ["备注"])
    partial.append(["x", "y", "z"])
    for title in ("第一张", "第二张"):
        sheet = workbook.create_sheet(title)
        sheet.append(["标题"])
        sheet.append(HEADERS)
        sheet.append([title] + ["v"] * 4)
    workbook.save(path)
    name, rows = read_table(path, "xlsx", by_header)
    assert name == "第一张" and rows[-1] == (3, ["第一张", "v", "v", "v", "v"])
    assert read_table(path, "xlsx", lambda head: 1 if head[0][1][0] == "标题" else 0)[0] == "第一张"
    assert read_table(path, "xlsx", lambda head: 5 if "第二张" in head[-1][1] else 1)[0] == "第二张"


def test_choose_sees_the_first_rows_with_excel_numbers_and_all_zero_keeps_the_default(tmp_path):
    path = write_layout(tmp_path / "default.xlsx", 20, top=3, left=2, title=True, sheets_before=[("填表说明", INSTRUCTIONS)])
    seen = {}

    def nothing(head):
        seen[head[0][1][0] if head[0][1] else ""] = [n for n, _ in head]
        return 0

    assert read_table(path, "xlsx", nothing)[0] == "数据"
    assert seen == {"一、本表用于报送行政许可信息。": [1, 2, 3], "": [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]}


def test_empty_workbook_gives_no_rows(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert iter_table(path, "xlsx", by_header)[1:2] == (0,)
    assert read_table(path, "xlsx") == ("Sheet", [])


# --- every sheet of a month workbook ----------------------------------------------------


def test_iter_sheets_gives_every_visible_worksheet_in_order_each_read_when_asked(tmp_path):
    path = tmp_path / "month.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "填表说明"
    workbook.active.append(["说明"])
    for k, title in enumerate(["行政许可", "行政处罚", "信用承诺"]):
        sheet = workbook.create_sheet(title)
        if k != 1:  # 行政处罚 left empty
            sheet.cell(2, 2, "文书号")
            sheet.cell(3, 2, f"{title}-1")
    workbook.create_sheet("隐藏").sheet_state = "hidden"
    workbook.save(path)
    sheets = list(iter_sheets(path))
    assert [(name, total) for name, total, _ in sheets] == [("填表说明", 1), ("行政许可", 3), ("行政处罚", 0), ("信用承诺", 3)]
    # Read out of order, after the generator is done: each sheet's rows are still there.
    assert list(sheets[3][2]) == [(2, ["", "文书号"]), (3, ["", "信用承诺-1"])]
    assert list(sheets[2][2]) == []
    assert list(sheets[1][2]) == [(2, ["", "文书号"]), (3, ["", "行政许可-1"])]
    assert list(iter_sheets(path))[0][0] == "填表说明"


# --- a huge recorded dimension, stray cells far away ----------------------------------


def _sheet_300(extra_rows="", dimension="A1:X1048576"):
    rows = [HEADERS] + [[f"第{n}号", f"公司{n}", "普通", 43678 + n, n] for n in range(299)]
    return f'<dimension ref="{dimension}"/><sheetData>{raw_rows(rows)}{extra_rows}</sheetData>'


@pytest.mark.parametrize("extra", [
    "",  # only the dimension says 1,048,576 rows
    '<row r="1048576" s="1" customFormat="1"><c r="A1048576" s="1"/><c r="X1048576" s="1"/></row>',  # formatted, empty
    '<row r="5000" s="1" customFormat="1"/><row r="1048576"><c r="XFD1048576" s="2"></c></row>',
])
def test_sheet_whose_dimension_says_a_million_rows_costs_nothing_extra(tmp_path, extra):
    path = write_raw(tmp_path / "dimension.xlsx", [("数据", _sheet_300(extra))])
    start = time.perf_counter()
    name, total, rows = iter_table(path, "xlsx", by_header)
    rows = list(rows)
    elapsed = time.perf_counter() - start
    assert len(rows) == 300 and rows[-1][0] == 300 and total == 300
    assert rows[0] == (1, HEADERS) and rows[-1][1][:2] == ["第298号", "公司298"]
    assert elapsed < 2  # a smoke guard only; about 0.02 s here


@pytest.mark.parametrize("cell, row, width", [
    ('<c r="X{row}" t="inlineStr"><is><t xml:space="preserve"> </t></is></c>', 1048576, 24),  # a stray space
    ('<c r="A{row}" t="str"><f>""</f><v></v></c>', 1048576, 5),  # a formula giving "" in the last row
    ('<c r="A{row}" t="str"><f>""</f><v></v></c>', 1048576, 6),
    ('<c r="XFD{row}"><v>1</v></c>', 366, 16384),
    ('<c r="XFD{row}"><v>1</v></c>', 367, 16384),
])
def test_a_stray_value_far_away_costs_at_most_the_grid_limit(tmp_path, cell, row, width):
    """calamine's grid is (last row with a value) × (last column with one): past MAX_SHEET_CELLS it is refused."""
    header = HEADERS + [f"备注{k}" for k in range(5, min(width, 24))]
    rows = [header] + [[f"第{n}号", f"公司{n}", "普通", 43678 + n, n] for n in range(299)]
    path = write_raw(tmp_path / "stray.xlsx", [("数据", f'<sheetData>{raw_rows(rows)}<row r="{row}">'
                                               f'{cell.format(row=row)}</row></sheetData>')])
    where = cell.split('"')[1].format(row=row)
    start = time.perf_counter()
    if row * width > excel.MAX_SHEET_CELLS:
        with pytest.raises(UploadRefused, match=f"数据区域过大：有内容的单元格一直到第 {row} 行（{where}）"):
            iter_table(path, "xlsx", by_header)
    else:  # read; the blank rows calamine pads are not given
        rows = read_table(path, "xlsx", by_header)[1]
        assert len(rows) == (300 if "<f>" in cell else 301)
        assert rows[299][0] == 300
    assert time.perf_counter() - start < 2  # a smoke guard: about 0.8 s for the 5 × 1,048,576 grid here


def test_a_tiny_file_asking_for_a_huge_grid_is_refused_not_a_crash(tmp_path):
    """Two cells, A1 and XFD1048576: calamine 0.9.1 would ask for 550 GB and abort the whole process."""
    path = write_raw(tmp_path / "bomb.xlsx", [("s", '<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
                                                   '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row></sheetData>')])
    code = ("import sys; from pathlib import Path; from reporting.excel import iter_table, UploadRefused\n"
            "try:\n    iter_table(Path(sys.argv[1]), 'xlsx')\nexcept UploadRefused as e:\n    print('refused', e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("refused 工作表“s”的数据区域过大") and "XFD1048576" in done.stdout


def test_grid_limit_is_rows_times_columns_of_cells_with_values(tmp_path, monkeypatch):
    path = write_raw(tmp_path / "ten.xlsx", [("数据", "<sheetData>" + raw_rows([["a", "b", "c"]] * 10)
                                             + '<row r="11"><c r="D11" s="1"/><c r="AB11" s="1"></c></row></sheetData>')])
    monkeypatch.setattr(excel, "MAX_SHEET_CELLS", 30)
    assert len(read_table(path, "xlsx")[1]) == 10
    monkeypatch.setattr(excel, "MAX_SHEET_CELLS", 29)
    with pytest.raises(UploadRefused, match="第 10 行（C10）、C 列"):
        read_table(path, "xlsx")


@pytest.mark.parametrize("scan_bytes", [17, 64, 1000, 4 * 1024 * 1024])
def test_scan_finds_the_last_row_and_column_with_a_value_across_chunk_boundaries(tmp_path, monkeypatch, scan_bytes):
    rows = [[f"v{r}-{c}" if (r + c) % 3 else "" for c in range(30)] for r in range(40)]
    body = raw_rows(rows)
    # Styled empty cells further right and below, which calamine ignores, and one value in AH17.
    body = body.replace('<row r="17">', '<row r="17"><c r="AH17"><v>7</v></c>', 1)
    body += '<row r="41"><c r="AZ41" s="1"/><c r="BA41" s="1"></c></row>'
    path = write_raw(tmp_path / "scan.xlsx", [("数据", f"<sheetData>{body}</sheetData>")])
    monkeypatch.setattr(excel, "_SCAN_BYTES", scan_bytes)
    found = excel._scan_sheet(path, "xl/worksheets/sheet1.xml")
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert found[0] == sheet.end[0] + 1 == 40 and found[2] == 34 == sheet.end[1] + 1
    assert found[3] == "AH17"


# --- raw XML that openpyxl does not write --------------------------------------------


def test_rows_and_cells_without_r_attributes_inline_strings_and_prefixed_xml(tmp_path):
    body = ("<sheetData><row><c t=\"inlineStr\"><is><t>文书号</t></is></c><c t=\"inlineStr\"><is><t>金额</t></is></c></row>"
            "<row/><row><c t=\"inlineStr\"><is><t>第1号</t></is></c><c><v>2</v></c></row></sheetData>")
    path = write_raw(tmp_path / "positional.xlsx", [("数据", body)])
    assert read_table(path, "xlsx")[1] == [(1, ["文书号", "金额"]), (3, ["第1号", 2.0])]

    prefixed = _sheet_300().replace("<", "<x:").replace("<x:/", "</x:")
    path = write_raw(tmp_path / "prefixed.xlsx", [("数据", prefixed)], prefix="x")
    assert len(read_table(path, "xlsx")[1]) == 300
    assert excel._scan_sheet(path, "xl/worksheets/sheet1.xml")[:2] == (300, "E300")


def test_control_character_escapes_as_calamine_decodes_them(tmp_path):
    """What the validator gets: `_xHHHH_` is decoded for U+0000-U+00FF only, in shared and inline strings."""
    shared = []
    values = ["a_x0000_b", "_x0009_tab_x000A_lf_x000d_", "bel_x0007_del_x007F_c1_x0085_", "_x005F_x0000_",
              "_x4E2D_文_xFFFE_", "_x00_ _xZZZZ_"]
    body = "<sheetData>" + raw_rows([values], shared=shared) + raw_rows([["in_x0000_line"]], top=2) + "</sheetData>"
    path = write_raw(tmp_path / "escapes.xlsx", [("数据", body)], shared=shared)
    rows = read_table(path, "xlsx")[1]
    assert rows == [
        (1, ["a\x00b", "\ttab\nlf\r", "bel\x07del\x7fc1\x85", "_x0000_", "_x4E2D_文_xFFFE_", "_x00_ _xZZZZ_"]),
        (2, ["in\x00line", "", "", "", "", ""]),
    ]


# --- broken files -----------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "cut sheet xml", "no sheet part"])
def test_broken_workbooks_are_refused_in_chinese(tmp_path, damage):
    path = write_raw(tmp_path / "ok.xlsx", [("数据", _sheet_300())])
    content = path.read_bytes()
    if damage == "truncated":
        content = content[: len(content) // 2]
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    if damage == "no sheet part":
                        continue
                    data = data[: len(data) // 2]
                target.writestr(item, data)
        content = buffer.getvalue()
    path.write_bytes(content)
    with pytest.raises(UploadRefused, match="文件已损坏或不是有效的 .xlsx 工作簿"):
        read_table(path, "xlsx", by_header)
    with pytest.raises(UploadRefused, match="文件已损坏或不是有效的 .xlsx 工作簿"):
        for _, _, rows in iter_sheets(path):
            list(rows)


# --- CSV --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_below_a_title_line_and_from_column_b(tmp_path, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["某某局行政许可信息公示表"])
    writer.writerow([])
    writer.writerow(["", *HEADERS])
    writer.writerow(["", "第1号", "某某公司", "普通", "2019-08-01", "1,000"])
    writer.writerow(["", "", "", "", "", ""])
    writer.writerow(["", "第2号", "多行\n名称", "", "2019.8.5", ""])
    path = tmp_path / "table.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    name, total, rows = iter_table(path, "csv", by_header)
    assert name == "CSV" and total >= 6
    assert list(rows) == [
        (1, ["某某局行政许可信息公示表"]),
        (3, ["", *HEADERS]),
        (4, ["", "第1号", "某某公司", "普通", "2019-08-01", "1,000"]),
        (6, ["", "第2号", "多行\n名称", "", "2019.8.5", ""]),
    ]


def test_csv_nul_byte_reaches_the_caller(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes("文书号,名称\r\n第1\x00号,某\x00\r\n".encode("utf-8-sig"))
    assert read_table(path, "csv")[1] == [(1, ["文书号", "名称"]), (2, ["第1\x00号", "某\x00"])]


def test_csv_in_an_unknown_encoding_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xfe\x81\x20")
    with pytest.raises(UploadRefused, match="无法识别 CSV 文件的编码"):
        read_table(path, "csv")


# --- the same table anywhere on the sheet ---------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows_above=st.integers(0, 6),
    columns_left=st.integers(0, 4),
    titles=st.integers(0, 2),
    merged=st.booleans(),
    count=st.integers(1, 6),
)
def test_same_table_anywhere_on_the_sheet_gives_the_same_rows(tmp_path, rows_above, columns_left, titles, merged,
                                                               count):
    titles = min(titles, rows_above)
    path = tmp_path / f"anywhere-{rows_above}-{columns_left}-{titles}-{merged}-{count}.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for k in range(titles):
        sheet.cell(1 + k, 1 + columns_left, f"标题{k}")
    if titles and merged:
        sheet.merge_cells(start_row=1, start_column=1 + columns_left, end_row=1, end_column=columns_left + len(HEADERS))
    top = rows_above + 1
    for j, header in enumerate(HEADERS):
        sheet.cell(top, 1 + columns_left + j, header)
    for n in range(count):
        for j, value in enumerate(row_values(n)):
            if value != "":
                sheet.cell(top + 1 + n, 1 + columns_left + j, value)
    workbook.save(path)
    rows = read_table(path, "xlsx", by_header)[1]
    assert relative(rows) == expected(count)
    assert rows[titles][0] == top and rows[titles][1][columns_left] == "文书号"
    assert [n for n, _ in rows[:titles]] == list(range(1, titles + 1))
