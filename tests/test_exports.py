"""Upload templates and error reports (reporting.exports)."""

import datetime
import io

import openpyxl
import pytest
from openpyxl.cell.cell import Cell

from reporting import exports
from reporting.excel import INSTRUCTIONS_SHEET
from reporting.models import Category, ImportBatch, Record
from reporting.schemas import CHOICE, CODE, DATE, SCHEMAS

from .factories import csv_bytes, header_row, record, records, uscc, xlsx_bytes

# A department category of each records schema.
CATEGORY_OF_SCHEMA = {
    "license": "admin_license",
    "penalty": "admin_penalty",
    "subject": "joint_punishment_case",
    "activity": "industry_supervision_field",
}


def load(content):
    return openpyxl.load_workbook(io.BytesIO(content))


def template_of(schema_code):
    return load(exports.template_workbook(Category.objects.get(code=CATEGORY_OF_SCHEMA[schema_code])))


def columns_of(schema_code):
    """{field key: column letter} in the template's order."""
    return {f.key: openpyxl.utils.get_column_letter(i) for i, f in enumerate(SCHEMAS[schema_code].fields, start=1)}


# --- templates -------------------------------------------------------------------------


@pytest.mark.parametrize("schema_code", SCHEMAS)
def test_template_data_sheet_is_first_and_active_with_marked_headers(reference, schema_code):
    workbook = template_of(schema_code)

    assert workbook.sheetnames == ["数据", INSTRUCTIONS_SHEET]
    assert workbook.active.title == "数据"
    sheet = workbook.active
    assert [c.value for c in sheet[1]] == header_row(schema_code)
    assert sheet.max_row == 1, "the data sheet must not carry an example row: it would be imported"
    assert sheet.freeze_panes == "A2"
    for f, cell in zip(SCHEMAS[schema_code].fields, sheet[1], strict=True):
        assert cell.font.b is True
        assert (cell.font.color is not None and cell.font.color.rgb == "00C00000") is f.required


@pytest.mark.parametrize("schema_code", SCHEMAS)
def test_template_has_dropdowns_for_choice_fields(reference, schema_code):
    sheet = template_of(schema_code).active
    letters = columns_of(schema_code)
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}

    choice_fields = [f for f in SCHEMAS[schema_code].fields if f.kind == CHOICE]
    assert len(validations) == len(choice_fields)
    for f in choice_fields:
        letter = letters[f.key]
        validation = validations[f"{letter}2:{letter}10000"]
        assert validation.type == "list"
        assert validation.formula1 == '"{}"'.format(",".join(f.choices))
        assert validation.showErrorMessage is True


@pytest.mark.parametrize("schema_code", SCHEMAS)
def test_template_formats_date_columns_as_dates_and_codes_as_text(reference, schema_code):
    sheet = template_of(schema_code).active
    letters = columns_of(schema_code)

    for f in SCHEMAS[schema_code].fields:
        number_format = sheet.column_dimensions[letters[f.key]].number_format
        if f.kind == DATE:
            assert number_format == "yyyy-mm-dd", f.header
        elif f.kind == CODE or f.key in ("id_number", "doc_number"):
            assert number_format == "@", f.header
        assert sheet.column_dimensions[letters[f.key]].width >= 10


@pytest.mark.parametrize("schema_code", SCHEMAS)
def test_template_instructions_list_every_field_with_rule_and_example(reference, schema_code, settings):
    settings.UPLOAD_MAX_BYTES = 7 * 1024 * 1024
    sheet = template_of(schema_code)[INSTRUCTIONS_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    header_at = rows.index(("字段", "是否必填", "规则说明", "示例"))
    schema = SCHEMAS[schema_code]
    field_rows = rows[header_at + 1:header_at + 1 + len(schema.fields)]

    assert [r[0] for r in field_rows] == schema.headers
    for f, (_, required, rule, example) in zip(schema.fields, field_rows, strict=True):
        assert required == ("是" if f.required else required)
        assert required in ("是", "否", "条件必填")
        assert rule
        assert example == (f.example or None)
        if f.kind == DATE:
            assert "2019/8/5" in rule and "2019年8月5日" in rule and "20190805" in rule
        if f.kind == CHOICE:
            assert all(choice in rule for choice in f.choices)
        if f.kind == CODE:
            assert "GB 32100" in rule
    notes = "\n".join(r[0] for r in rows[header_at + 1 + len(schema.fields):] if r[0])
    assert "7 MB" in notes
    assert "UTF-8" in notes and "GB18030" in notes


def test_template_states_the_disclosure_and_uniqueness_rules(reference):
    sheet = template_of("license")[INSTRUCTIONS_SHEET]
    rules = {r[0]: r[2] for r in sheet.iter_rows(values_only=True)}

    assert "7 个工作日" in rules["许可决定日期"]
    assert "不得重复" in rules["行政许可决定文书号"]
    assert "GB 11643" in rules["证件号码"]
    assert rules["统一社会信用代码"].startswith("行政相对人类别为“法人及非法人组织”时必填")


def _fill_template(schema_code, rows):
    """What a reporter does: open the downloaded template, type rows under the headers, save."""
    workbook = template_of(schema_code)
    sheet = workbook["数据"]
    schema = SCHEMAS[schema_code]
    for row in rows:
        # Dates typed into the date columns become real Excel dates.
        sheet.append([
            datetime.date.fromisoformat(row[f.key]) if f.kind == DATE and row[f.key] else row[f.key]
            for f in schema.fields
        ])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("schema_code", SCHEMAS)
def test_filled_template_round_trips_through_the_upload(dept_report, upload, schema_code):
    content = _fill_template(schema_code, records(schema_code, 5))

    batch = upload(dept_report, CATEGORY_OF_SCHEMA[schema_code], content, name="模板.xlsx")

    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors or batch.message
    assert batch.imported_rows == 5
    stored = Record.objects.filter(report=dept_report, category__code=CATEGORY_OF_SCHEMA[schema_code])
    assert stored.count() == 5
    assert {r.row_number for r in stored} == {2, 3, 4, 5, 6}


def test_empty_template_is_refused_with_a_clear_message(dept_report, upload):
    batch = upload(dept_report, "admin_license", exports.template_workbook(Category.objects.get(code="admin_license")))

    assert batch.status == ImportBatch.Status.REFUSED
    assert "没有任何数据行" in batch.message


# --- error reports ---------------------------------------------------------------------


def _rows(content):
    return [list(r) for r in load(content)["错误报告"].iter_rows(values_only=True)]


def test_error_report_lists_the_bad_rows_with_original_values_and_reasons(dept_report, upload):
    rows = records("license", 4)
    rows[1]["credit_code"] = "91110000600037341A"  # wrong check character
    rows[3]["content"] = ""
    rows[3]["valid_to"] = "2019/13/40"
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", rows))
    assert batch.status == ImportBatch.Status.FAILED

    report = _rows(exports.error_report_workbook(batch))

    assert report[0] == ["原行号", *header_row("license"), "错误说明"]
    assert [r[0] for r in report[1:]] == [3, 5]
    third, fifth = report[1], report[2]
    headers = SCHEMAS["license"].headers
    assert third[1 + headers.index("统一社会信用代码")] == "91110000600037341A"
    assert third[-1] == "统一社会信用代码：统一社会信用代码校验位错误，请核对是否抄错"
    assert fifth[1 + headers.index("有效期至")] == "2019/13/40"
    assert fifth[-1].split("；") == [
        "许可内容：必填项不能为空",
        "有效期至：“2019/13/40”不是有效日期（月份或日期超出范围）",
    ]


def test_error_report_of_a_huge_failure_lists_the_first_rows_and_says_so(dept_report, upload, monkeypatch):
    monkeypatch.setattr(exports, "ERROR_REPORT_MAX_ROWS", 2)
    batch = upload(dept_report, "joint_punishment_case", xlsx_bytes("subject", records("subject", 5, matter="")))

    report = _rows(exports.error_report_workbook(batch))

    assert [r[0] for r in report[1:3]] == [2, 3]
    assert report[3][1].startswith("共 5 行有错误，此处只列出前 2 行")


def test_error_report_highlights_the_cells_in_error(dept_report, upload):
    rows = records("subject", 2)
    rows[0]["matter"] = ""
    batch = upload(dept_report, "joint_punishment_case", xlsx_bytes("subject", rows))

    sheet = load(exports.error_report_workbook(batch))["错误报告"]

    matter_column = 2 + SCHEMAS["subject"].headers.index("事项")
    assert sheet.cell(row=2, column=matter_column).fill.fgColor.rgb == "00FFC7CE"
    assert sheet.cell(row=2, column=matter_column - 1).fill.fgColor.rgb != "00FFC7CE"


def test_error_report_of_a_csv_upload(dept_report, upload):
    rows = records("activity", 3)
    rows[2]["link"] = "ftp://example.com"
    batch = upload(dept_report, "industry_supervision_field", csv_bytes("activity", rows, "gb18030"), name="活动.csv")

    report = _rows(exports.error_report_workbook(batch))

    assert len(report) == 2
    assert report[1][0] == 4
    assert report[1][-1] == "链接：链接应以 http:// 或 https:// 开头"


def test_error_report_of_a_refused_file_carries_the_refusal(dept_report, upload):
    batch = upload(dept_report, "admin_license", b"%PDF-1.4 not a workbook", name="报表.xlsx")
    assert batch.status == ImportBatch.Status.REFUSED

    report = _rows(exports.error_report_workbook(batch))

    assert report[0] == ["文件", "报表.xlsx"]
    assert report[1] == ["结果", "文件被拒绝"]
    assert report[2][0] == "原因" and report[2][1] == batch.message


def test_error_report_without_the_original_file_still_lists_errors(dept_report, upload):
    rows = records("subject", 1, matter="")
    batch = upload(dept_report, "joint_punishment_case", xlsx_bytes("subject", rows))
    batch.file.delete(save=False)

    report = _rows(exports.error_report_workbook(batch))

    assert report == [["原行号", "列名", "原因"], [2, "事项", "必填项不能为空"]]


def test_error_report_writes_formula_like_values_as_text(dept_report, upload):
    rows = [
        record("license", 0, subject_name="=1+1", legal_rep="+cmd|' /C calc'!A0", remark="@SUM(A1:A9)",
               cert_name="-2+3", credit_code="bad"),
        record("license", 1, subject_name="\t=HYPERLINK(\"http://x\")", credit_code="bad"),
    ]
    # CSV, so the uploaded values are literally these strings (an .xlsx written by openpyxl would hold formulas).
    batch = upload(dept_report, "admin_license", csv_bytes("license", rows), name="injection.csv")
    assert batch.status == ImportBatch.Status.FAILED

    sheet = load(exports.error_report_workbook(batch))["错误报告"]
    values = {}
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                values[cell.value] = cell.data_type

    for dangerous in ("=1+1", "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "\t=HYPERLINK(\"http://x\")"):
        assert values.get(dangerous) == "s", dangerous
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_sanitize_cell_forces_literal_text_and_leaves_numbers_alone():
    cell = exports.sanitize_cell("=1+1")
    assert isinstance(cell, Cell)
    assert (cell.value, cell.data_type) == ("=1+1", "s")
    for prefix in "+-@\t\r":
        assert exports.sanitize_cell(prefix + "x").data_type == "s"
    assert exports.sanitize_cell(-5) == -5
    assert exports.sanitize_cell(2.5) == 2.5
    assert exports.sanitize_cell(datetime.date(2019, 8, 5)) == datetime.date(2019, 8, 5)
    assert exports.sanitize_cell("营口\x00市") == "营口市"
    assert exports.sanitize_cell("") is None


def test_sanitized_cells_survive_a_normal_workbook_too():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([exports.sanitize_cell("=1+1", sheet), exports.sanitize_cell(3, sheet)])
    out = io.BytesIO()
    workbook.save(out)

    reloaded = load(out.getvalue()).active
    assert (reloaded["A1"].value, reloaded["A1"].data_type) == ("=1+1", "s")
    assert (reloaded["B1"].value, reloaded["B1"].data_type) == (3, "n")


def test_sanitize_csv_prefixes_an_apostrophe():
    assert exports.sanitize_csv("=1+1") == "'=1+1"
    assert exports.sanitize_csv("+86 123") == "'+86 123"
    assert exports.sanitize_csv("@SUM(A1)") == "'@SUM(A1)"
    assert exports.sanitize_csv("\tx") == "'\tx"
    assert exports.sanitize_csv("营口市") == "营口市"
    assert exports.sanitize_csv(-5) == -5


def test_file_names(dept_report, upload):
    category = Category.objects.get(code="admin_license")
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 1, credit_code=uscc(1))),
                   name="八月许可.xlsx")

    assert exports.template_filename(category) == "行政许可_导入模板.xlsx"
    assert exports.error_report_filename(batch) == "错误报告_八月许可.xlsx"
