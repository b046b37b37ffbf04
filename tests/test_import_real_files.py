"""Files as offices really send them: national spellings and field codes, cell forms, bounded bad input.

Each test imports a file through the same path as the portal and the CLI (reporting.imports) and
looks at what was stored, or at the error named by row and column.
"""

import datetime
import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from reporting import imports, validation
from reporting.models import Category, Deadline, ImportBatch, Record, ValueSynonym
from reporting.schemas import SCHEMAS

from .factories import (
    VALID_ID,
    VALID_USCC,
    csv_bytes,
    header_row,
    period,
    record,
    records,
    resident_id,
    uscc,
    xlsx_bytes,
)

LICENSE = "admin_license"
PENALTY = "admin_penalty"


@pytest.fixture
def reporter(users):
    later = timezone.localdate() + datetime.timedelta(days=30)
    Deadline.objects.create(period=period(), due_date=later, lock_date=later)
    return users["dept"]


def workbook_bytes(rows, *, title=None, note=None, start_column=1, headers=None, sheets_before=()):
    """An .xlsx shaped like an office's export: optional title and note rows, table from any column."""
    wb = openpyxl.Workbook()
    first = wb.active
    for name, lines in sheets_before:
        sheet = first if first.title == "Sheet" and not first.max_row > 1 else wb.create_sheet()
        sheet.title = name
        for line in lines:
            sheet.append(line)
        first = None
    ws = wb.create_sheet("数据") if first is None else first
    ws.title = "数据"
    pad = [None] * (start_column - 1)
    if title:
        ws.append(pad + [title])
        ws.merge_cells(start_row=ws.max_row, start_column=start_column, end_row=ws.max_row, end_column=start_column + 8)
    if note:
        ws.append(pad + [note])
    for line in headers or []:
        ws.append(pad + list(line))
    for row in rows:
        ws.append(pad + list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def license_rows(rows, schema="license"):
    keys = [f.key for f in SCHEMAS[schema].fields]
    return [[r.get(k, "") for k in keys] for r in rows]


def stored(report, code=LICENSE):
    return Record.objects.filter(report=report, category__code=code).order_by("row_number")


# --- national spellings ---------------------------------------------------------------


# 1 and 1.0: the code 001 in a numeric cell (Excel drops the leading zeros).
@pytest.mark.parametrize("spelling", ["身份证", "居民身份证", "身份证号", "二代身份证", "001", " 身份证 ", 1, 1.0, "1"])
def test_id_type_spellings_are_stored_as_one_value(dept_report, reporter, upload, spelling):
    row = record("license", 0, subject_type="自然人", credit_code="", id_type=spelling, id_number=resident_id(3))
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [row]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report).get().data["id_type"] == "居民身份证"


@pytest.mark.parametrize("spelling, canonical", [
    ("护照号", "护照"), ("港澳通行证", "港澳居民来往内地通行证"), ("回乡证", "港澳居民来往内地通行证"),
    ("台胞证", "台湾居民来往大陆通行证"), ("外国人永久居留证", "外国人永久居留身份证"),
])
def test_other_id_types_by_their_common_names(dept_report, reporter, upload, spelling, canonical):
    row = record("license", 0, subject_type="自然人", credit_code="", id_type=spelling, id_number="E12345678")
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [row]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report).get().data["id_type"] == canonical


@pytest.mark.parametrize("key, spelling, canonical", [
    ("subject_type", "法人和非法人组织", "法人及非法人组织"), ("subject_type", "法人", "法人及非法人组织"),
    ("subject_type", "非法人组织", "法人及非法人组织"), ("subject_type", "企业", "法人及非法人组织"),
    ("status", "1", "有效"), ("status", 1, "有效"), ("status", "2", "无效"), ("status", "正常", "有效"),
    ("status", "撤销", "无效"), ("license_kind", "普通许可", "普通"), ("license_kind", "其它", "其他"),
    ("subject_type", "1", "法人及非法人组织"), ("subject_type", 3, "个体工商户"),
])
def test_enumerations_accept_standard_codes_and_variants(dept_report, reporter, upload, key, spelling, canonical):
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [record("license", 0, **{key: spelling})]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report).get().data[key] == canonical


@pytest.mark.parametrize("spelling, canonical", [("个人", "自然人"), ("个体户", "个体工商户")])
def test_persons_and_sole_traders_by_their_common_names(dept_report, reporter, upload, spelling, canonical):
    overrides = {"credit_code": "", "id_number": resident_id(1)} if canonical == "自然人" else {}
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [record("license", 0, subject_type=spelling,
                                                                       **overrides)]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report).get().data["subject_type"] == canonical


def test_a_spelling_added_in_the_admin_is_accepted_at_the_next_upload(dept_report, reporter, upload):
    content = xlsx_bytes("license", [record("license", 0, license_kind="审批")])
    refused = upload(dept_report, LICENSE, content, user=reporter)
    assert refused.status == ImportBatch.Status.FAILED
    assert refused.errors[0]["column"] == "许可类别"
    ValueSynonym.objects.create(field="license_kind", spelling="审批", canonical="核准")
    batch = upload(dept_report, LICENSE, content, name="again.xlsx", user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report).get().data["license_kind"] == "核准"


def test_a_synonym_must_name_a_canonical_value(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="规范值必须是以下之一"):
        ValueSynonym(field="id_type", spelling="身份证明", canonical="身份证明").full_clean()


def test_built_in_spellings_are_loaded_as_data(reference):
    assert ValueSynonym.objects.get(field="id_type", spelling="身份证").canonical == "居民身份证"
    assert ValueSynonym.objects.filter(field="status").count() >= 4


# --- field codes of the national standard as headers ----------------------------------


LICENSE_CODES = {
    "subject_name": "XK_XDR", "subject_type": "XK_XDR_LB", "credit_code": "XK_XDR_SHXYM", "legal_rep": "XK_FRDB",
    "id_type": "XK_XDR_ZJLX", "id_number": "XK_XDR_ZJHM", "doc_name": "XK_XKWS", "doc_number": "XK_WSH",
    "license_kind": "XK_XKLB", "cert_name": "XK_XKZS", "cert_number": "XK_XKBH", "content": "XK_NR",
    "decision_date": "XK_JDRQ", "valid_from": "XK_YXQZ", "valid_to": "XK_YXQZI", "authority": "XK_XKJG",
    "authority_code": "XK_XKJGDM", "status": "XK_ZT", "source_unit": "XK_LYDW", "source_unit_code": "XK_LYDWDM",
    "remark": "BZ",
}


def test_a_file_headed_by_the_standards_field_codes_imports(dept_report, reporter, upload):
    codes = [LICENSE_CODES[f.key] for f in SCHEMAS["license"].fields]
    rows = license_rows(records("license", 3, status="1"))
    batch = upload(dept_report, LICENSE, workbook_bytes(rows, headers=[codes]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert [r.data["status"] for r in stored(dept_report)] == ["有效"] * 3


@pytest.mark.parametrize("order", ["codes_first", "names_first"])
def test_two_header_rows_codes_and_names_are_both_skipped(dept_report, reporter, upload, order):
    codes = [LICENSE_CODES[f.key].lower() for f in SCHEMAS["license"].fields]
    names = header_row("license")
    headers = [codes, names] if order == "codes_first" else [names, codes]
    batch = upload(dept_report, LICENSE, workbook_bytes(license_rows(records("license", 2)), headers=headers,
                                                        title="行政许可信息"), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert [r.row_number for r in stored(dept_report)] == [4, 5]


def test_penalty_file_with_code_headers_and_several_penalty_kinds(dept_report, reporter, upload):
    codes = {"subject_name": "CF_XDR_MC", "subject_type": "CF_XDR_LB", "credit_code": "CF_XDR_SHXYM",
             "doc_number": "CF_WSH", "violation_type": "CF_WFXW", "facts": "CF_SY", "basis": "CF_YJ",
             "penalty_kind": "CF_CFLB", "penalty_content": "CF_NR", "fine": "CF_NR_FK", "decision_date": "CF_JDRQ",
             "valid_until": "CF_YXQ", "authority": "CF_CFJG", "authority_code": "CF_CFJGDM",
             "source_unit": "CF_SJLY", "source_unit_code": "CF_SJLYDM"}
    keys = list(codes)
    row = record("penalty", 0, penalty_kind="警告；罚款", fine="1,200.5", valid_until="2020-08-04")
    content = workbook_bytes([[row[k] for k in keys]], headers=[[codes[k] for k in keys]])
    batch = upload(dept_report, PENALTY, content, user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    data = stored(dept_report, PENALTY).get().data
    assert (data["fine"], data["penalty_kind"]) == (1200.5, "警告；罚款")


# --- cell forms --------------------------------------------------------------------------


def test_text_columns_given_as_numbers_keep_all_their_digits(dept_report, reporter, upload):
    row = record("license", 0, cert_number=123456789012, doc_number=20190001, legal_rep=12.5)
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [row]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    record_ = stored(dept_report).get()
    assert (record_.data["cert_number"], record_.doc_number, record_.data["legal_rep"]) == (
        "123456789012", "20190001", "12.5")


@pytest.mark.parametrize("written", [VALID_USCC.lower(), "９１１１００００６０００３７３４１Ｌ", " 9111 0000 6000 3734 1L ",
                                     "'" + VALID_USCC, "‘91110000600037341l"])
def test_credit_codes_in_any_case_width_spacing_or_quoted_are_normalised(dept_report, reporter, upload, written):
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [record("license", 0, credit_code=written)]),
                   user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report).get().credit_code == VALID_USCC


@pytest.mark.parametrize("written", [VALID_ID.lower(), "'" + VALID_ID, " 110105 19491231 002X "])
def test_id_numbers_are_normalised(dept_report, reporter, upload, written):
    row = record("license", 0, subject_type="自然人", credit_code="", id_type="身份证", id_number=written)
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [row]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report).get().id_number == VALID_ID


def test_an_id_number_excel_stored_as_a_number_is_named_not_guessed(dept_report, reporter, upload):
    row = record("license", 0, subject_type="自然人", credit_code="", id_type="身份证", id_number=110105194912310020)
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [row]), user=reporter)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.errors[0]["column"] == "证件号码"
    assert "存成了数字" in batch.errors[0]["message"]


@pytest.mark.parametrize("written", [43682, 43682.0, "2019.8.5", "2019-08-05 00:00:00", "2019/8/5 0:00",
                                     datetime.datetime(2019, 8, 5, 9, 30), "2019年8月5日", "20190805", "43682",
                                     "43682.5", 43682.75])
def test_dates_in_the_forms_offices_send(dept_report, reporter, upload, written):
    row = record("license", 0, decision_date=written, valid_from=written)
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [row]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    record_ = stored(dept_report).get()
    assert (record_.record_date, record_.data["valid_from"]) == (datetime.date(2019, 8, 5), "2019-08-05")


@pytest.mark.parametrize("written, value", [("1,200.5", 1200.5), ("0.5万元", 0.5), ("1，200 万元", 1200.0),
                                            (3, 3.0), ("￥2", 2.0), ("0.5万", 0.5)])
def test_amounts_with_separators_or_a_unit(dept_report, reporter, upload, written, value):
    batch = upload(dept_report, PENALTY, xlsx_bytes("penalty", [record("penalty", 0, fine=written,
                                                                       valid_until="2020-01-01")]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    assert stored(dept_report, PENALTY).get().data["fine"] == value


def test_an_amount_in_yuan_is_named(dept_report, reporter, upload):
    batch = upload(dept_report, PENALTY, xlsx_bytes("penalty", [record("penalty", 0, fine="5000元",
                                                                       valid_until="2020-01-01")]), user=reporter)
    assert batch.status == ImportBatch.Status.FAILED
    assert (batch.errors[0]["row"], batch.errors[0]["column"]) == (2, "罚款金额（万元）")
    assert "万元" in batch.errors[0]["message"]


def test_text_an_export_escaped_against_formulas_reads_back_as_it_was(dept_report, reporter, upload):
    """A CSV writer (ours: reporting.exports.sanitize_csv) puts ' before = + - @; read back, it goes."""
    row = record("license", 0, content="'=1+1 项目", remark="'@备注", cert_name="'-证书", doc_number="'+营测1号")
    batch = upload(dept_report, LICENSE, csv_bytes("license", [row]), name="x.csv", user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    data = stored(dept_report).get().data
    assert (data["content"], data["remark"], data["cert_name"], data["doc_number"]) == (
        "=1+1 项目", "@备注", "-证书", "+营测1号")


def test_line_breaks_and_spaces_inside_cells_are_trimmed(dept_report, reporter, upload):
    row = record("license", 0, subject_name=" 营口市某某\n贸易有限公司 ", legal_rep="Zhang\r\nSan",
                 content="第一项\n第二项 ", doc_number="营测\n〔2019〕0号")
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [row]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    record_ = stored(dept_report).get()
    assert record_.subject_name == "营口市某某贸易有限公司"
    assert record_.data["legal_rep"] == "Zhang San"
    assert record_.data["content"] == "第一项\n第二项"  # long text keeps its lines
    assert record_.doc_number == "营测〔2019〕0号"


@pytest.mark.parametrize("bad", ["某某\x00公司", "某某\x1b公司", "某某_x0000_公司"])
def test_control_characters_are_an_error_naming_row_and_column(dept_report, reporter, tmp_path, bad):
    """Written as CSV (openpyxl refuses control characters): a NUL is never stored and never a 500."""
    from .factories import csv_bytes

    rows = records("license", 3)
    rows[1]["subject_name"] = bad
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes("license", rows))
    with open(path, "rb") as f:
        batch = imports.batch_create(report=dept_report, category=Category.objects.get(code=LICENSE), fileobj=f,
                                     name="bad.csv", user=reporter)
    batch = imports.records_import(batch_id=batch.pk)
    assert batch.status == ImportBatch.Status.FAILED
    assert [(e["row"], e["column"]) for e in batch.errors] == [(3, "行政相对人名称")]
    assert "控制字符" in batch.errors[0]["message"] or "NUL" in batch.errors[0]["message"]
    assert not stored(dept_report).exists()


# --- bounds -------------------------------------------------------------------------------


def _wrong_file(rows):
    """The header, then rows with only the first column filled: every row has many errors."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    ws.append(header_row("license"))
    for n in range(rows):
        ws.append([f"名称{n}"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_errors_kept_in_detail_are_bounded_and_the_rest_counted(monkeypatch):
    monkeypatch.setattr(validation, "KEPT_ERRORS", 5)
    schema = SCHEMAS["license"]
    table = [(1, header_row("license"))] + [(n, [f"名称{n}"]) for n in range(2, 32)]
    result = validation.validate_table(schema, table, today=datetime.date(2019, 9, 1))
    assert len(result.errors) == 5
    assert result.errors[0]["row"] == 2
    assert result.error_row_count == 30
    per_row = result.error_count // 30
    assert per_row > 5 and result.error_count == 30 * per_row
    assert not result.stopped


def test_reading_stops_past_the_error_limit_with_a_chinese_message(dept_report, reporter, upload, monkeypatch):
    monkeypatch.setattr(validation, "STOP_ERROR_ROWS", 3000)
    batch = upload(dept_report, LICENSE, _wrong_file(20_000), user=reporter)
    assert batch.status == ImportBatch.Status.FAILED
    assert "错误过多，请检查是否使用了正确的模板" in batch.message
    assert len(batch.errors) == validation.KEPT_ERRORS
    assert batch.total_rows < 20_000
    assert not stored(dept_report).exists()


def test_keep_valid_rows_is_refused_when_checking_stopped(dept_report, reporter, upload, monkeypatch):
    monkeypatch.setattr(validation, "STOP_ERROR_ROWS", 2048)
    content = _wrong_file(6000)
    batch = upload(dept_report, LICENSE, content, user=reporter, keep_valid_rows=True)
    assert batch.status == ImportBatch.Status.FAILED
    assert not stored(dept_report).exists()


def test_cli_json_keeps_its_contract_and_adds_the_total(dept_report, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(validation, "KEPT_ERRORS", 10)
    path = tmp_path / "wrong.xlsx"
    path.write_bytes(_wrong_file(50))
    with pytest.raises(CommandError):
        call_command("import_records", "--unit", "D01", "--period", "2019-08", "--category", LICENSE, "--json",
                     "--dry-run", str(path))
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(line) == {"imported", "errors", "error_count"}
    assert line["imported"] == 0
    assert len(line["errors"]) == 10
    assert line["error_count"] > len(line["errors"])


# --- append ----------------------------------------------------------------------------------


def test_keep_valid_rows_then_append_the_fixed_ones_keeps_every_row(dept_report, reporter, upload):
    rows = records("license", 6)
    rows[2]["credit_code"] = "91110000600037341M"
    rows[4]["decision_date"] = "昨天"
    first = upload(dept_report, LICENSE, xlsx_bytes("license", rows), user=reporter, keep_valid_rows=True)
    assert (first.status, first.imported_rows) == (ImportBatch.Status.SUCCEEDED, 4)
    fixed = [record("license", 2), record("license", 4)]
    second = upload(dept_report, LICENSE, xlsx_bytes("license", fixed), name="fixed.xlsx", user=reporter,
                    mode="append")
    assert second.status == ImportBatch.Status.SUCCEEDED, second.errors
    assert "本类别现共 6 条" in second.message
    assert sorted(r.doc_number for r in stored(dept_report)) == sorted(r["doc_number"] for r in records("license", 6))
    assert dept_report.entries.get(category__code=LICENSE).record_count == 6


def test_append_refuses_a_doc_number_already_there(dept_report, reporter, upload):
    upload(dept_report, LICENSE, xlsx_bytes("license", records("license", 3)), user=reporter)
    again = upload(dept_report, LICENSE, xlsx_bytes("license", records("license", 2, start=2)), name="more.xlsx",
                   user=reporter, mode="append")
    assert again.status == ImportBatch.Status.FAILED
    assert [(e["row"], e["column"]) for e in again.errors] == [(2, "行政许可决定文书号")]
    assert "本月已导入" in again.errors[0]["message"]
    assert stored(dept_report).count() == 3


def test_the_same_file_appended_twice_never_counts_twice(dept_report, reporter, upload):
    content = xlsx_bytes("activity", records("activity", 3))
    category = Category.objects.filter(schema="activity", applies_to__contains="department").first()
    first = upload(dept_report, category.code, content, user=reporter)
    other = upload(dept_report, category.code, xlsx_bytes("activity", records("activity", 1, title="另一项")),
                   name="b.xlsx", user=reporter, mode="append")
    again = upload(dept_report, category.code, content, name="a-again.xlsx", user=reporter, mode="append")
    assert (first.status, other.status, again.status) == (
        ImportBatch.Status.SUCCEEDED, ImportBatch.Status.SUCCEEDED, ImportBatch.Status.DUPLICATE)
    assert Record.objects.filter(report=dept_report, category=category).count() == 4


def test_the_page_asks_replace_or_append_when_the_category_has_rows(client, dept_report, reporter, upload):
    upload(dept_report, LICENSE, xlsx_bytes("license", records("license", 2)), user=reporter)
    client.force_login(reporter)
    url = f"/reports/D01/2019-08/upload/{LICENSE}/"
    page = client.get(dept_report.get_absolute_url()).content.decode()
    assert 'name="mode" value="append"' in page
    content = xlsx_bytes("license", records("license", 1, start=5))
    response = client.post(url, {"file": _named(content, "more.xlsx")}, follow=True)
    assert "请选择“替换本类别已有记录”或“追加到已有记录”" in response.content.decode()
    assert stored(dept_report).count() == 2
    client.post(url, {"file": _named(content, "more.xlsx"), "mode": "append"})
    assert stored(dept_report).count() == 3


def _named(content, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


# --- the month workbook ----------------------------------------------------------------------


def _fill(book, sheet_name, schema_code, rows):
    keys = [f.key for f in SCHEMAS[schema_code].fields]
    sheet = book[sheet_name]
    for row in rows:
        sheet.append([row.get(k, "") for k in keys])


def test_month_workbook_imports_each_filled_sheet_as_its_category(client, dept_report, reporter):
    client.force_login(reporter)
    response = client.get("/reports/D01/2019-08/workbook.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    records_categories = [e.category for e in dept_report.entries.select_related("category") if e.category.is_records]
    assert set(book.sheetnames) == {c.name for c in records_categories} | {"填表说明"}
    license_name = Category.objects.get(code=LICENSE).name
    other = next(c for c in records_categories if c.schema == "subject")
    _fill(book, license_name, "license", records("license", 3))
    _fill(book, other.name, "subject", records("subject", 2))
    out = io.BytesIO()
    book.save(out)
    nil_before = dept_report.entries.filter(is_nil=True).count()
    response = client.post("/reports/D01/2019-08/workbook/", {"file": _named(out.getvalue(), "月度.xlsx")},
                           follow=True)
    assert response.status_code == 200
    assert stored(dept_report).count() == 3
    assert Record.objects.filter(report=dept_report, category=other).count() == 2
    batches = ImportBatch.objects.filter(report=dept_report)
    assert {b.category_id for b in batches} == {Category.objects.get(code=LICENSE).pk, other.pk}
    assert len({b.group for b in batches}) == 1
    assert "月度报送工作簿：各类别结果" in response.content.decode()
    # Empty sheets changed nothing: no category became nil or got rows.
    assert dept_report.entries.filter(is_nil=True).count() == nil_before
    assert Record.objects.filter(report=dept_report).count() == 5


def test_an_empty_month_workbook_is_refused_in_chinese(client, dept_report, reporter):
    client.force_login(reporter)
    content = b"".join(client.get("/reports/D01/2019-08/workbook.xlsx").streaming_content)
    response = client.post("/reports/D01/2019-08/workbook/", {"file": _named(content, "empty.xlsx")}, follow=True)
    assert "没有填写任何数据的类别工作表" in response.content.decode()
    assert not ImportBatch.objects.filter(report=dept_report).exists()


# --- templates teach right ---------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(SCHEMAS))
def test_every_example_in_the_instructions_passes_the_rules(code):
    schema = SCHEMAS[code]
    example = {f.key: f.example for f in schema.fields}
    if code == "subject":
        example["credit_code"] = example["credit_code"] or VALID_USCC
    result = validation.validate_table(schema, [(1, schema.headers), (2, [example[f.key] for f in schema.fields])],
                                       today=datetime.date(2026, 1, 1))
    assert result.is_valid, result.errors


def test_instructions_describe_the_declared_cross_field_rules():
    from reporting.exports import field_rules

    schema = SCHEMAS["license"]
    assert "行政相对人类别为“法人及非法人组织”时必填" in field_rules(schema, schema.field("credit_code"))
    assert "不得早于“有效期自”" in field_rules(schema, schema.field("valid_to"))
    assert "GB 11643" in field_rules(schema, schema.field("id_number"))
    assert "与“证件号码”至少填写一项" in field_rules(SCHEMAS["subject"], SCHEMAS["subject"].field("credit_code"))


def test_uscc_examples_in_the_templates_have_a_right_check_digit():
    from reporting.validators import check_uscc

    for schema in SCHEMAS.values():
        for f in schema.fields:
            if f.kind == "uscc" and f.example:
                assert check_uscc(f.example) == f.example
    assert uscc(0) != VALID_USCC


def test_headers_with_notes_and_cells_with_placeholders_and_open_ended_validity(dept_report, reporter, upload):
    headers = [f"{f.header}（必填）" if f.required else f"{f.header}【选填】" for f in SCHEMAS["license"].fields]
    row = record("license", 0, legal_rep="/", cert_number="无", remark="—", valid_to="长期",
                 subject_type="法人及其他组织")
    batch = upload(dept_report, LICENSE, workbook_bytes(license_rows([row]), headers=[headers]), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    data = stored(dept_report).get().data
    assert (data["legal_rep"], data["cert_number"], data["remark"]) == ("", "", "")
    assert (data["valid_to"], data["subject_type"]) == ("2099-12-31", "法人及非法人组织")


def test_a_placeholder_in_a_required_column_is_an_empty_required_cell(dept_report, reporter, upload):
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", [record("license", 0, content="无")]), user=reporter)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.errors == [{"row": 2, "column": "许可内容", "message": "必填项不能为空"}]
