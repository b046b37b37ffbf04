"""Statistics tables as xlsx, CSV and JSON: same numbers as computed, laid out like the bulletin, no formulas."""

import csv
import io
import json

import openpyxl
import pytest

from rankings import exports, selectors
from rankings.models import StatTable
from reporting.models import Unit

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset

EVIL = "=cmd|' /C calc'!A0"


def compute(code, first=1, last=3):
    return selectors.table_compute(StatTable.objects.get(code=code), year=data.YEAR, first=first, last=last)


def load(content):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def csv_rows(content):
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_department_xlsx_has_title_header_total_row_and_numbers_as_ints(dataset):
    computed = compute("department")
    sheet = load(exports.table_xlsx(computed))

    assert sheet["A1"].value == computed.title
    assert sheet["A1"].font.b is True and sheet["A1"].font.sz >= 14
    assert "A1:S1" in {str(r) for r in sheet.merged_cells.ranges}
    assert [c.value for c in sheet[2]] == ["序号", "部门名称", *computed.labels]
    assert sheet["A3"].value == "合计" and "A3:B3" in {str(r) for r in sheet.merged_cells.ranges}
    assert [c.value for c in sheet[3]][2:] == [computed.totals[label] for label in computed.labels]
    for offset, row in enumerate(computed.rows):
        cells = sheet[4 + offset]
        assert cells[0].value == row.number
        assert cells[1].value == row.unit.short_name
        values = [c.value for c in cells[2:]]
        assert values == [row.values[label] for label in computed.labels]
        assert all(isinstance(v, int) and c.data_type == "n" for v, c in zip(values, cells[2:], strict=True))
    assert sheet.max_row == 3 + 63


def test_county_park_xlsx_has_merged_group_header_rows(dataset):
    computed = compute("county_park")
    sheet = load(exports.table_xlsx(computed))

    assert [c.value for c in sheet[2]] == ["地区", *computed.labels]
    assert sheet["A3"].value == "县（市）区"
    assert "A3:K3" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A4"].value == "鲅鱼圈"
    assert [c.value for c in sheet[4][1:]] == [5, 4, 0, 6, 0, 0, 0, 7, 0, 2]
    assert sheet["A10"].value == "园区"
    assert sheet["A11"].value == "自贸区"
    assert [c.value for c in sheet[11][1:]] == [3, 2, 0, 0, 0, 0, 0, 0, 0, 1]


def test_xlsx_is_set_up_for_a4_landscape_printing(dataset):
    sheet = load(exports.table_xlsx(compute("department")))

    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(sheet.page_setup.fitToWidth) == 1
    assert sheet.print_title_rows == "$1:$2"


def test_xlsx_has_borders_widths_and_a_wrapped_header(dataset):
    sheet = load(exports.table_xlsx(compute("department")))

    for cell in (sheet["A2"], sheet["C2"], sheet["C4"], sheet["S66"]):
        assert cell.border.left.style == "thin" and cell.border.bottom.style == "thin"
    assert sheet["H2"].alignment.wrap_text is True
    assert sheet.column_dimensions["B"].width >= 10
    assert 8 <= sheet.column_dimensions["H"].width <= 14


def test_csv_starts_with_a_bom_and_carries_the_same_numbers(dataset):
    computed = compute("department")
    content = exports.table_csv(computed)

    assert content.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(content)
    assert rows[0] == ["序号", "单位编码", "单位", "分组", *computed.labels]
    for line, row in zip(rows[1:-1], computed.rows, strict=True):
        assert line[:3] == [str(row.number), row.unit.code, row.unit.short_name]
        assert [int(v) for v in line[4:]] == [row.values[label] for label in computed.labels]
    assert rows[-1][2] == "合计"
    assert [int(v) for v in rows[-1][4:]] == [computed.totals[label] for label in computed.labels]


def test_json_is_the_contract(dataset):
    computed = compute("county_park")
    payload = json.loads(exports.table_json(computed))

    assert set(payload) == {"table", "title", "columns", "rows", "totals"}
    assert payload["table"] == "county_park"
    assert payload["columns"] == computed.labels
    c01 = next(r for r in payload["rows"] if r["unit"] == "C01")
    assert set(c01) == {"unit", "name", "group", "values", "total"}
    assert c01["name"] == "鲅鱼圈" and c01["group"] == "county"
    assert c01["values"]["“双公示”报送"] == 6 and c01["total"] == 22
    assert "“双公示”" in exports.table_json(computed)  # not \u-escaped


@pytest.mark.parametrize("evil", [EVIL, "+1+1", "-2", "@SUM(A1)"])
def test_a_unit_name_that_looks_like_a_formula_stays_text(dataset, evil):
    Unit.objects.filter(code="C02").update(short_name=evil)
    computed = compute("county_park")

    sheet = load(exports.table_xlsx(computed))
    cell = sheet["A5"]
    assert cell.value == evil and cell.data_type == "s"

    line = next(r for r in csv_rows(exports.table_csv(computed)) if r[1] == "C02")
    assert line[2] == "'" + evil

    assert json.loads(exports.table_json(computed))["rows"][1]["name"] == evil


def test_a_column_label_that_looks_like_a_formula_stays_text(dataset):
    table = StatTable.objects.get(code="county_park")
    table.columns.filter(position=1).update(label="=1+1")
    sheet = load(exports.table_xlsx(compute("county_park")))

    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"


def test_export_filename_is_the_title(dataset):
    assert exports.export_filename(compute("department"), "xlsx") == "2019年1—3月份市有关部门信源单位数据上报情况.xlsx"
