"""Large sheets read in parts (reporting.xlsx_parts) give exactly the rows of reading them whole.

The part size is made tiny here so that small files are cut into many parts:
every cut, the shared strings and styles (dates), row numbers across parts,
empty rows and columns at a part's edge, and the refusals of a broken part.
"""

import datetime
import os
import threading
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest

from benchmarks import excel_like
from reporting import excel, xlsx_parts
from reporting.excel import UploadRefused, iter_table
from reporting.schemas import SCHEMAS
from reporting.validation import validation_start

from .factories import header_row, record

SMALL = 2048  # bytes of worksheet XML per part in these tests


def _read(path, *, split, monkeypatch):
    """(sheet name, total, rows) with splitting forced on every sheet or off."""
    monkeypatch.setattr(xlsx_parts, "PART_BYTES", SMALL)
    monkeypatch.setattr(xlsx_parts, "MIN_SPLIT_BYTES", 0 if split else 10**12)
    name, total, rows = iter_table(Path(path), "xlsx")
    return name, total, list(rows)


def _visible(rows):
    """Non-blank rows, trailing blanks dropped: what the validator sees of each row."""
    out = []
    for number, cells in rows:
        cells = list(cells)
        while cells and cells[-1] in ("", None):
            cells.pop()
        if cells:
            out.append((number, cells))
    return out


def _sheet_xml(rows, *, with_r=True, cdata_row=None):
    """A worksheet with inline strings; rows are (row number, [cell or None]) with explicit numbers."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<dimension ref="A1:Z999"/><sheetData>']
    for number, cells in rows:
        parts = []
        for i, value in enumerate(cells):
            if value is None:
                continue
            ref = f' r="{excel_like._column(i)}{number}"' if with_r else ""
            if isinstance(value, datetime.date):
                parts.append(f'<c{ref} s="1"><v>{(value - datetime.date(1899, 12, 30)).days}</v></c>')
            elif isinstance(value, (int, float)):
                parts.append(f"<c{ref}><v>{value}</v></c>")
            elif number == cdata_row:
                parts.append(f'<c{ref} t="inlineStr"><is><t><![CDATA[{value} <row r="1">]]></t></is></c>')
            else:
                parts.append(f'<c{ref} t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        attr = f' r="{number}"' if with_r else ""
        out.append(f"<row{attr}>{''.join(parts)}</row>")
    out.append("</sheetData><pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" "
               "header=\"0.3\" footer=\"0.3\"/></worksheet>")
    return "".join(out)


def _write_raw(path, sheet_xml, *, date1904=False):
    workbook = excel_like._WORKBOOK
    if date1904:
        workbook = workbook.replace("<sheets>", '<workbookPr date1904="1"/><sheets>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", excel_like._CONTENT_TYPES)
        archive.writestr("_rels/.rels", excel_like._RELS)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", excel_like._WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", excel_like._STYLES)
        archive.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8"?><sst '
                         'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>')
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def _messy_rows(n=400):
    """Header on row 1, then data with gaps: empty rows, an empty first column, dates, numbers, CJK."""
    rows = [(1, ["名称", "日期", "金额", "备注"])]
    number = 2
    for i in range(n):
        number += 3 if i % 37 == 0 else 1  # empty rows between some rows
        first = None if i % 50 in (10, 11, 12) else f"单位{i}＆<>"  # some rows with column A empty
        rows.append((number, [first, datetime.date(2019, 1, 1) + datetime.timedelta(days=i), i * 1.5,
                              "备注" if i % 3 else None]))
    return rows


def test_shared_strings_file_in_many_parts_reads_like_the_whole_sheet(tmp_path, monkeypatch):
    rows = [header_row("license")] + [list(record("license", n).values()) for n in range(300)]
    rows[5][20] = "含有\t制表符"
    path = tmp_path / "shared.xlsx"
    excel_like.write_xlsx(path, rows)
    whole = _read(path, split=False, monkeypatch=monkeypatch)
    parts = _read(path, split=True, monkeypatch=monkeypatch)
    assert parts[0] == whole[0]
    assert _visible(parts[2]) == _visible(whole[2])
    assert len(_visible(parts[2])) == 301
    # It really was read in parts.
    assert xlsx_parts.split_sheet(path, whole[0], part_bytes=SMALL, min_bytes=0) is not None


def test_gaps_empty_first_column_dates_and_numbers_survive_the_cuts(tmp_path, monkeypatch):
    path = _write_raw(tmp_path / "gaps.xlsx", _sheet_xml(_messy_rows()))
    whole = _read(path, split=False, monkeypatch=monkeypatch)
    parts = _read(path, split=True, monkeypatch=monkeypatch)
    assert _visible(parts[2]) == _visible(whole[2])
    numbers = [n for n, _ in _visible(parts[2])]
    assert numbers == [n for n, _ in _messy_rows()]  # Excel's row numbers, gaps included
    by_number = dict(_visible(parts[2]))
    assert by_number[numbers[-1]][1] == datetime.date(2019, 1, 1) + datetime.timedelta(days=399)
    assert by_number[numbers[-1]][0] == "单位399＆<>"


def test_date1904_workbooks_keep_their_dates(tmp_path, monkeypatch):
    path = _write_raw(tmp_path / "d1904.xlsx", _sheet_xml(_messy_rows(200)), date1904=True)
    whole = _read(path, split=False, monkeypatch=monkeypatch)
    parts = _read(path, split=True, monkeypatch=monkeypatch)
    assert _visible(parts[2]) == _visible(whole[2])


def test_rows_without_numbers_are_not_cut(tmp_path, monkeypatch):
    path = _write_raw(tmp_path / "nor.xlsx", _sheet_xml(_messy_rows(200), with_r=False))
    assert xlsx_parts.split_sheet(path, "数据", part_bytes=SMALL, min_bytes=0) is None
    whole = _read(path, split=False, monkeypatch=monkeypatch)
    assert _read(path, split=True, monkeypatch=monkeypatch) == whole


def test_cdata_after_the_first_part_is_never_cut_into(tmp_path, monkeypatch):
    path = _write_raw(tmp_path / "cdata.xlsx", _sheet_xml(_messy_rows(300), cdata_row=250))
    whole = _read(path, split=False, monkeypatch=monkeypatch)
    parts = _read(path, split=True, monkeypatch=monkeypatch)
    assert _visible(parts[2]) == _visible(whole[2])
    assert any('<row r="1">' in str(c) for _, cells in _visible(parts[2]) for c in cells)


def test_openpyxl_file_reads_the_same(tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(header_row("license"))
    for n in range(200):
        values = list(record("license", n).values())
        values[12] = datetime.date(2019, 8, 5)
        ws.append(values)
    path = tmp_path / "openpyxl.xlsx"
    wb.save(path)
    whole = _read(path, split=False, monkeypatch=monkeypatch)
    parts = _read(path, split=True, monkeypatch=monkeypatch)
    assert _visible(parts[2]) == _visible(whole[2])


def test_validation_of_a_file_read_in_parts_reports_the_same_rows(tmp_path, monkeypatch):
    rows = [header_row("license")] + [list(record("license", n).values()) for n in range(300)]
    rows[150][0] = ""  # required 行政相对人名称 missing on Excel row 151
    rows[299][7] = rows[3][7]  # duplicate 文书号 on Excel row 300 (first on row 4)
    path = tmp_path / "errors.xlsx"
    excel_like.write_xlsx(path, rows)

    def validate(split):
        _, total, table = _read(path, split=split, monkeypatch=monkeypatch)
        result, valid = validation_start(SCHEMAS["license"], table, today=datetime.date(2026, 1, 1))
        return [r.row for r in valid], result.errors

    assert validate(True) == validate(False)
    _, errors = validate(True)
    assert [(e["row"], e["column"]) for e in errors] == [(151, "行政相对人名称"), (300, "行政许可决定文书号")]


@pytest.mark.parametrize("bad_cell", [
    '<c r="A250" t="inlineStr"><is><t>&bogus;</t></is></c>',  # an undefined entity
    '<c r="A250" t="s"><v>999999</v></c>',  # a shared string that does not exist
])
def test_a_broken_later_part_refuses_the_upload_as_the_whole_sheet_does(tmp_path, monkeypatch, bad_cell):
    xml = _sheet_xml(_messy_rows(300))
    cut = xml.index('<row r="250"')
    path = _write_raw(tmp_path / "broken.xlsx", xml[:cut] + f'<row r="249">{bad_cell}</row>' + xml[cut:])
    for split in (False, True):
        monkeypatch.setattr(xlsx_parts, "PART_BYTES", SMALL)
        monkeypatch.setattr(xlsx_parts, "MIN_SPLIT_BYTES", 0 if split else 10**12)
        with pytest.raises(UploadRefused, match="文件已损坏"):  # read whole: at once; in parts: at that part
            _, _, rows = iter_table(path, "xlsx")
            assert next(rows)[0] == 1
            list(rows)


def test_stopping_early_stops_the_background_reader(tmp_path, monkeypatch):
    rows = [header_row("license")] + [list(record("license", n).values()) for n in range(300)]
    path = tmp_path / "stop.xlsx"
    excel_like.write_xlsx(path, rows)
    monkeypatch.setattr(xlsx_parts, "PART_BYTES", SMALL)
    monkeypatch.setattr(xlsx_parts, "MIN_SPLIT_BYTES", 0)
    _, _, table = iter_table(path, "xlsx")
    assert next(table)[0] == 1
    table.close()
    assert not [t for t in threading.enumerate() if t.name == "xlsx-parts"]


def test_small_sheets_are_read_whole(tmp_path):
    path = tmp_path / "small.xlsx"
    excel_like.write_xlsx(path, [header_row("license"), list(record("license").values())])
    assert xlsx_parts.split_sheet(path, "数据") is None


def test_split_refusals_fall_back_to_the_whole_sheet(tmp_path, monkeypatch):
    """A sheet the splitter can't handle is read whole rather than refused."""
    path = _write_raw(tmp_path / "odd.xlsx", _sheet_xml(_messy_rows(100)))

    def fail(*args, **kwargs):
        raise RuntimeError("splitter failed")

    monkeypatch.setattr(excel, "split_sheet", fail)
    name, _, rows = iter_table(path, "xlsx")
    assert len(_visible(list(rows))) == 101


def test_the_data_sheet_is_chosen_as_when_read_whole(tmp_path, monkeypatch):
    """Instructions first, a hidden sheet with data, then the data sheet: both ways pick the data sheet."""
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["说明"] * 3)
    hidden = wb.create_sheet("旧数据")
    hidden.sheet_state = "hidden"
    hidden.append(["不应读取"])
    data = wb.create_sheet("数据")
    data.append(header_row("license"))
    for n in range(200):
        data.append(list(record("license", n).values()))
    path = tmp_path / "sheets.xlsx"
    wb.save(path)
    assert xlsx_parts.visible_worksheets(path) == ["填表说明", "数据"]
    whole = _read(path, split=False, monkeypatch=monkeypatch)
    parts = _read(path, split=True, monkeypatch=monkeypatch)
    assert parts[0] == whole[0] == "数据"
    assert _visible(parts[2]) == _visible(whole[2])


def test_sheets_not_cut_leave_no_file_open(tmp_path):
    small = tmp_path / "small.xlsx"
    excel_like.write_xlsx(small, [header_row("license"), list(record("license").values())])
    unnumbered = _write_raw(tmp_path / "nor.xlsx", _sheet_xml(_messy_rows(200), with_r=False))
    before = len(os.listdir("/proc/self/fd"))
    assert xlsx_parts.split_sheet(small, "数据") is None
    assert xlsx_parts.split_sheet(unnumbered, "数据", part_bytes=SMALL, min_bytes=0) is None
    assert xlsx_parts.split_sheet(small, "没有这个表", min_bytes=0) is None
    assert len(os.listdir("/proc/self/fd")) == before
