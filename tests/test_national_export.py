"""归集导出: accepted licenses and penalties in the national 双公示 2.0 layout, as CSV or xlsx, logged,
reproducible, with --since-last after a reopen and correction, and a round trip back through the upload."""

import csv
import datetime
import hashlib
import io
import json
import zipfile

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from exports import national, services, xlsx
from exports.models import ExportLedger, ExportRun
from reporting import services as reporting
from reporting.imports import batch_create, records_import
from reporting.models import Category, ImportBatch, MonthlyReport, Record, ReportStatus, Unit
from reporting.validation import builtin_synonyms
from reporting.validators import normalise_spelling

from .factories import csv_bytes, period, record, resident_id

pytestmark = pytest.mark.django_db

AUG, SEP, OCT = period(2019, 8), period(2019, 9), period(2019, 10)
FORMULA = "=HYPERLINK(\"http://evil.example/\",\"点击\")"


def license_rows(start):
    """Four licences: a company (有效), a person with an ID (长期), a 个体工商户 (无效), a company with
    text that a spreadsheet would run as a formula."""
    return [
        record("license", start),
        record("license", start + 1, subject_type="自然人", credit_code="", id_type="身份证",
               id_number=resident_id(start + 1), valid_to="长期"),
        record("license", start + 2, subject_type="个体工商户", status="无效", license_kind="核准",
               remark="多行备注\n第二行", cert_name="证书&<甲>\"乙\""),
        record("license", start + 3, content=FORMULA, remark="@SUM(A1)", cert_name="+86 证书"),
    ]


def month(unit_code, when, rows, upload, schema="license", category="admin_license", accept=True):
    """The unit's month with these rows, submitted (and accepted) through the reporting services."""
    report = reporting.report_get_or_create(unit=Unit.objects.get(code=unit_code), period=when)
    # CSV: openpyxl (tests' xlsx builder) would store the formula-like text as a live formula.
    batch = upload(report, category, csv_bytes(schema, rows), name="upload.csv")
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    reporting.report_submit(report=report, user=None, confirm_nil=True)
    if accept:
        reporting.report_accept(report=report, user=None)
    report.refresh_from_db()
    return report


@pytest.fixture
def world(reference, upload):
    """D01 and D02 accepted in August 2019; D01's September submitted but not accepted."""
    return {
        "d01_aug": month("D01", AUG, license_rows(0), upload),
        "d02_aug": month("D02", AUG, license_rows(100)[:2], upload),
        "d01_sep": month("D01", SEP, license_rows(200)[:1], upload, accept=False),
    }


def export(tmp_path, name="out.csv", *, category="admin_license", fmt=None, headers="code", since_last=False,
           start=AUG, end=SEP):
    fmt = fmt or name.rsplit(".", 1)[1]
    return services.export_disclosure(category=category, period_from=start, period_through=end, fmt=fmt,
                                      headers=headers, since_last=since_last, path=tmp_path / name)


def csv_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def as_dicts(rows):
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


# --- layout and code values ------------------------------------------------------------------


def test_csv_headers_are_the_standards_field_codes_in_its_order(world, tmp_path):
    export(tmp_path)
    header = csv_rows(tmp_path / "out.csv")[0]
    assert header == [c.code for c in national.LICENSE_COLUMNS]
    assert len(header) == 28
    assert header[:4] == ["XK_XDR_MC", "XK_XDR_LB", "XK_XDR_SHXYM", "XK_XDR_GSZC"]
    assert header[-4:] == ["XK_ZT", "XK_LYDW", "XK_LYDWDM", "BZ"]


def test_zh_headers_are_the_standards_chinese_names(world, tmp_path):
    export(tmp_path, headers="zh")
    header = csv_rows(tmp_path / "out.csv")[0]
    assert header[0] == "行政相对人名称"
    assert header[2] == "行政相对人代码_1（统一社会信用代码）"
    assert "行政相对人代码_6（社会组织登记证号）" in header
    assert header[-1] == "备注"


def test_penalty_layout_has_thirty_columns_and_plain_amounts(reference, upload, tmp_path):
    rows = [record("penalty", 1, fine=0.5, confiscated="12"), record("penalty", 2, fine="0.000001", confiscated="")]
    month("D03", AUG, rows, upload, schema="penalty", category="admin_penalty")
    export(tmp_path, category="admin_penalty")
    table = csv_rows(tmp_path / "out.csv")
    assert table[0] == [c.code for c in national.PENALTY_COLUMNS] and len(table[0]) == 30
    first, second = as_dicts(table)
    assert (first["CF_NR_FK"], first["CF_NR_WFFF"]) == ("0.5", "12")
    assert (second["CF_NR_FK"], second["CF_NR_WFFF"]) == ("0.000001", "")
    assert first["CF_WSH"] == "营测〔2019〕1号" and first["CF_JDRQ"] == "2019-08-05"
    assert first["CF_SJLY"] == "营口市市场监督管理局"


def test_values_are_the_standards_codes(world, tmp_path):
    export(tmp_path)
    company, person, trader, _ = as_dicts(csv_rows(tmp_path / "out.csv"))[:4]
    assert (company["XK_XDR_LB"], person["XK_XDR_LB"], trader["XK_XDR_LB"]) == ("1", "2", "3")
    assert (company["XK_ZT"], trader["XK_ZT"]) == ("1", "2")
    assert person["XK_XDR_ZJLX"] == "001" and person["XK_XDR_ZJHM"] == resident_id(1)
    assert company["XK_XDR_ZJLX"] == "" and company["XK_XDR_SHXYM"] == record("license", 0)["credit_code"]
    assert person["XK_YXQZI"] == "2099-12-31"  # 长期, as the standard writes it
    assert company["XK_JDRQ"] == "2019-08-05" and company["XK_YXQZ"] == "2019-08-05"
    assert trader["XK_XKLB"] == "核准"
    # Fields we do not hold are there, empty.
    for code in ("XK_XDR_GSZC", "XK_XDR_ZZJG", "XK_XDR_SWDJ", "XK_XDR_SYDW", "XK_XDR_SHZZ", "XK_FR_ZJLX", "XK_FR_ZJHM"):
        assert company[code] == person[code] == ""


def test_every_code_written_imports_back_as_the_canonical_value():
    """Each code the export writes is a spelling fixtures/value_synonyms.csv maps to the value it stands for."""
    synonyms = builtin_synonyms()
    fields = {"subject_type": national.SUBJECT_TYPE_CODES, "id_type": national.ID_TYPE_CODES,
              "status": national.STATUS_CODES}
    for key, codes in fields.items():
        for canonical, code in codes.items():
            assert synonyms[key][normalise_spelling(code)] == canonical, (key, code)
    coded = {c.key for c in national.LICENSE_COLUMNS + national.PENALTY_COLUMNS if c.kind == national.CODE}
    assert coded == set(fields)


def test_only_accepted_months_of_the_range_go_out_in_month_unit_row_order(world, tmp_path, upload):
    month("D01", OCT, license_rows(300)[:1], upload)  # accepted, outside the range
    result = export(tmp_path)
    names = [(r["XK_WSH"]) for r in as_dicts(csv_rows(tmp_path / "out.csv"))]
    assert names == [f"营测〔2019〕{n}号" for n in (0, 1, 2, 3, 100, 101)]
    assert result.rows == 6
    reporting.report_accept(report=world["d01_sep"], user=None)
    assert export(tmp_path, "again.csv").rows == 7


def test_an_empty_range_gives_the_header_alone(reference, tmp_path):
    result = export(tmp_path)
    assert result.rows == 0
    assert csv_rows(tmp_path / "out.csv") == [[c.code for c in national.LICENSE_COLUMNS]]


# --- formula injection -----------------------------------------------------------------------


def test_csv_prefixes_formula_like_text_with_an_apostrophe(world, tmp_path):
    export(tmp_path)
    risky = as_dicts(csv_rows(tmp_path / "out.csv"))[3]
    assert risky["XK_NR"] == "'" + FORMULA
    assert risky["BZ"] == "'@SUM(A1)"
    assert risky["XK_XKZS"] == "'+86 证书"
    assert risky["XK_XDR_MC"] == record("license", 3)["subject_name"]  # the rest of the row untouched


def test_xlsx_writes_formula_like_text_as_literal_strings(world, tmp_path):
    export(tmp_path, "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=5, column=header.index("XK_NR") + 1)
    assert cell.value == FORMULA and cell.data_type == "s"
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "=HYPERLINK" in xml


# --- reproducible files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.csv", "out.xlsx"])
def test_a_rerun_writes_the_same_bytes_and_logs_their_hash(world, tmp_path, name):
    first = export(tmp_path, name).run
    content = (tmp_path / name).read_bytes()
    second = export(tmp_path, name).run
    assert (tmp_path / name).read_bytes() == content
    assert first.sha256 == second.sha256 == hashlib.sha256(content).hexdigest()
    assert first.pk != second.pk and second.size == len(content)


def test_xlsx_has_fixed_entry_dates_and_no_document_properties(world, tmp_path):
    export(tmp_path, "out.xlsx")
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        infos = z.infolist()
    assert {i.date_time for i in infos} == {xlsx.FIXED_DATE}
    assert not any(i.filename.startswith("docProps/") for i in infos)


def test_xlsx_reads_back_with_openpyxl_as_the_csv_does(world, tmp_path):
    export(tmp_path, "out.csv")
    export(tmp_path, "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True).active
    from_xlsx = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    from_csv = csv_rows(tmp_path / "out.csv")
    # The CSV's apostrophe before formula-like text is the only difference.
    assert from_xlsx == [[v[1:] if v[:2] in ("'=", "'@", "'+") else v for v in row] for row in from_csv]
    assert sheet.title == "行政许可"


def test_amounts_are_numbers_in_xlsx(reference, upload, tmp_path):
    month("D03", AUG, [record("penalty", 1, fine=0.5)], upload, schema="penalty", category="admin_penalty")
    export(tmp_path, "out.xlsx", category="admin_penalty")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("CF_NR_FK") + 1).value == 0.5


def test_rows_past_a_sheets_limit_go_on_in_further_sheets_with_the_header(world, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 3)  # header + 2 rows a sheet
    export(tmp_path, "out.xlsx")
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert book.sheetnames == ["行政许可", "行政许可（2）", "行政许可（3）"]
    docs = []
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "XK_XDR_MC" and len(rows) <= 3
        docs += [r[14] for r in rows[1:]]
    assert docs == [f"营测〔2019〕{n}号" for n in (0, 1, 2, 3, 100, 101)]


# --- round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "headers"), [("out.xlsx", "code"), ("out.csv", "code"), ("out.xlsx", "zh")])
def test_an_export_imports_back_into_another_month_unchanged(world, tmp_path, name, headers):
    export(tmp_path, name, headers=headers)
    target = reporting.report_get_or_create(unit=Unit.objects.get(code="D05"), period=OCT)
    with open(tmp_path / name, "rb") as f:
        batch = batch_create(report=target, category=Category.objects.get(code="admin_license"), fileobj=f,
                             name=name, user=None)
    batch = records_import(batch_id=batch.pk)
    assert batch.status == ImportBatch.Status.SUCCEEDED, (batch.message, batch.errors)
    sent = Record.objects.filter(report__in=[world["d01_aug"], world["d02_aug"]]).order_by("report__unit__code",
                                                                                            "row_number")
    back = Record.objects.filter(report=target).order_by("row_number")
    # The CSV's apostrophe keeps formula-like text inert in a spreadsheet; the upload takes it off again.
    assert [r.data for r in back] == [r.data for r in sent]
    assert back[3].data["content"] == FORMULA
    assert [(r.subject_name, r.credit_code, r.id_number, r.record_date) for r in back] == [
        (r.subject_name, r.credit_code, r.id_number, r.record_date) for r in sent]


def test_a_penalty_export_imports_back_unchanged(reference, upload, tmp_path):
    rows = [record("penalty", 1, fine=0.5, subject_type="自然人", credit_code="", id_type="护照", id_number="E12345678"),
            record("penalty", 2, fine="1234.5", confiscated="0.01", publish_until="")]
    source = month("D03", AUG, rows, upload, schema="penalty", category="admin_penalty")
    export(tmp_path, "out.csv", category="admin_penalty")
    assert as_dicts(csv_rows(tmp_path / "out.csv"))[0]["CF_XDR_ZJLX"] == "002"
    target = reporting.report_get_or_create(unit=Unit.objects.get(code="D04"), period=OCT)
    with open(tmp_path / "out.csv", "rb") as f:
        batch = batch_create(report=target, category=Category.objects.get(code="admin_penalty"), fileobj=f,
                             name="out.csv", user=None)
    assert records_import(batch_id=batch.pk).status == ImportBatch.Status.SUCCEEDED
    sent = [r.data for r in Record.objects.filter(report=source).order_by("row_number")]
    assert [r.data for r in Record.objects.filter(report=target).order_by("row_number")] == sent


# --- the log and --since-last --------------------------------------------------------------------


def test_a_run_is_logged_with_its_ledger(world, tmp_path):
    result = export(tmp_path)
    run = ExportRun.objects.get()
    assert (run.rows, run.format, run.headers, run.since_last, run.user, run.withdrawn) == (6, "csv", "code", False,
                                                                                            None, 0)
    assert (run.period_from, run.period_through) == (AUG, SEP)
    assert run.file_name == str(tmp_path / "out.csv") and run.who == "命令行"
    ledger = services.ledger_entries(run)
    assert len(ledger) == 6 == sum(ExportLedger.objects.filter(run=run).values_list("count", flat=True))
    rec = Record.objects.get(unit__code="D01", doc_number="营测〔2019〕1号")
    [entry] = [e for e in ledger if e[0] == rec.unit_id and e[2] == "营测〔2019〕1号"]
    assert entry[1] == AUG
    assert entry[3] == services.content_key(Record._meta.get_field("data").get_prep_value(rec.data))
    assert result.run == run


def test_since_last_sends_only_what_changed_after_a_reopen_and_correction(world, tmp_path, upload):
    assert export(tmp_path, "full.csv").rows == 6
    assert export(tmp_path, "none.csv", since_last=True).rows == 0
    assert csv_rows(tmp_path / "none.csv") == [[c.code for c in national.LICENSE_COLUMNS]]

    # The office reopens D01's August; the unit corrects one licence and deletes another; accepted again.
    report = world["d01_aug"]
    reporting.report_reopen(report=report, user=None, reason="许可内容有误")
    assert export(tmp_path, "while_reopened.csv", since_last=True).rows == 0  # nothing sent, nothing withdrawn
    rows = Record.objects.filter(report=report).order_by("row_number")
    corrected, deleted = rows[0], rows[2]
    reporting.record_update(record=corrected, values={"content": "食品销售（含冷藏冷冻食品）"}, user=None)
    reporting.record_delete(record=deleted, user=None)
    reporting.report_submit(report=report, user=None, confirm_nil=True)
    reporting.report_accept(report=report, user=None)

    result = export(tmp_path, "changes.csv", since_last=True)
    changed = as_dicts(csv_rows(tmp_path / "changes.csv"))
    assert [(r["XK_WSH"], r["XK_NR"]) for r in changed] == [("营测〔2019〕0号", "食品销售（含冷藏冷冻食品）")]
    assert result.rows == 1 and result.run.since_last
    assert result.run.withdrawn == 1
    assert result.withdrawn == [{"unit": "D01", "period": "2019-08", "doc_number": "营测〔2019〕2号"}]
    assert [e[2] for e in services.ledger_entries(result.run) if e[3] is None] == ["营测〔2019〕2号"]

    # Nothing has changed since: nothing goes out, and the withdrawal is not reported twice.
    again = export(tmp_path, "after.csv", since_last=True)
    assert (again.rows, again.run.withdrawn) == (0, 0)

    # A month accepted later goes out alone; a full export still writes everything there is.
    reporting.report_accept(report=world["d01_sep"], user=None)
    assert [r["XK_WSH"] for r in as_dicts(csv_rows(export(tmp_path, "sep.csv", since_last=True).path))] == [
        "营测〔2019〕200号"]
    assert export(tmp_path, "all.csv").rows == 6


def test_since_last_is_per_category(world, reference, upload, tmp_path):
    export(tmp_path)
    month("D03", AUG, [record("penalty", 1)], upload, schema="penalty", category="admin_penalty")
    assert export(tmp_path, "p.csv", category="admin_penalty", since_last=True).rows == 1
    assert export(tmp_path, "l.csv", since_last=True).rows == 0


def test_a_deleted_record_that_comes_back_goes_out_again(world, tmp_path):
    export(tmp_path)
    report = world["d02_aug"]
    reporting.report_reopen(report=report, user=None, reason="重复")
    gone = Record.objects.filter(report=report).order_by("row_number").first()
    data = gone.data
    reporting.record_delete(record=gone, user=None)
    reporting.report_submit(report=report, user=None, confirm_nil=True)
    reporting.report_accept(report=report, user=None)
    assert export(tmp_path, "a.csv", since_last=True).run.withdrawn == 1
    reporting.report_reopen(report=report, user=None, reason="补回")
    keep = [r.data for r in Record.objects.filter(report=report).order_by("row_number")]
    upload_rows = [data, *keep]
    report.refresh_from_db()
    path = tmp_path / "back.csv"
    path.write_bytes(csv_bytes("license", upload_rows))
    with open(path, "rb") as f:
        batch = batch_create(report=report, category=Category.objects.get(code="admin_license"), fileobj=f,
                             name="back.csv", user=None)
    assert records_import(batch_id=batch.pk).status == ImportBatch.Status.SUCCEEDED
    reporting.report_submit(report=report, user=None, confirm_nil=True)
    reporting.report_accept(report=report, user=None)
    back = export(tmp_path, "b.csv", since_last=True)
    assert [r["XK_WSH"] for r in as_dicts(csv_rows(back.path))] == [data["doc_number"]]


# --- the command line -------------------------------------------------------------------------------


def run_cli(*args):
    out = io.StringIO()
    call_command("export_disclosure", *args, stdout=out)
    return out.getvalue()


def test_cli_json_last_line_is_rows_and_file(world, tmp_path):
    target = tmp_path / "cli.xlsx"
    output = run_cli("--category", "admin_license", "--from", "2019-08", "--through", "2019-09", "--format",
                     "xlsx", "-o", str(target), "--json")
    last = json.loads(output.strip().splitlines()[-1])
    assert last == {"rows": 6, "file": str(target)}
    assert target.is_file() and ExportRun.objects.get().format == "xlsx"
    details = json.loads(output.strip().splitlines()[-2])
    assert details["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()


def test_cli_headers_zh_and_since_last(world, tmp_path):
    base = ["--category", "admin_license", "--from", "2019-08", "--through", "2019-08", "--format", "csv"]
    run_cli(*base, "--headers", "zh", "-o", str(tmp_path / "a.csv"))
    assert csv_rows(tmp_path / "a.csv")[0][0] == "行政相对人名称"
    output = run_cli(*base, "--since-last", "-o", str(tmp_path / "b.csv"), "--json")
    assert json.loads(output.strip().splitlines()[-1])["rows"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2019-09", "--through", "2019-08"], "起始月份（2019-09）不能晚于截止月份（2019-08）"),
    (["--from", "2019-13", "--through", "2019-12"], "月份“2019-13”格式不对"),
    (["--from", "201908", "--through", "2019-12"], "月份“201908”格式不对"),
    (["--from", "2019-08", "--through", "2019-08", "--category", "admin_red"], "不支持的类别“admin_red”"),
    (["--from", "2019-08", "--through", "2019-08", "--format", "pdf"], "不支持的格式“pdf”"),
    (["--from", "2019-08", "--through", "2019-08", "--headers", "en"], "不支持的表头方式“en”"),
    (["--through", "2019-08"], "缺少参数：--from"),
    (["--from", "2019-08", "--through", "2019-08", "--bogus"], "无法识别的参数：--bogus"),
    (["--from", "2019-08", "--through"], "参数 --through 后面需要一个值"),
])
def test_cli_refuses_bad_arguments_in_chinese(reference, tmp_path, args, message):
    defaults = {"--category": "admin_license", "--format": "csv", "-o": str(tmp_path / "x.csv")}
    for flag, value in defaults.items():
        if flag not in args:
            args = [*args, flag, value]
    with pytest.raises(CommandError) as excinfo:
        run_cli(*args)
    assert message in str(excinfo.value)
    assert not (tmp_path / "x.csv").exists() and not ExportRun.objects.exists()


def test_cli_refuses_a_missing_output_directory_or_a_directory(reference, tmp_path):
    base = ["--category", "admin_license", "--from", "2019-08", "--through", "2019-08", "--format", "csv"]
    with pytest.raises(CommandError, match="输出目录不存在"):
        run_cli(*base, "-o", str(tmp_path / "no" / "x.csv"))
    with pytest.raises(CommandError, match="是一个目录"):
        run_cli(*base, "-o", str(tmp_path))


def test_cli_json_names_the_file_as_given(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    output = run_cli("--category", "admin_license", "--from", "2019-08", "--through", "2019-08", "--format", "csv",
                     "-o", "relative.csv", "--json")
    assert json.loads(output.strip().splitlines()[-1]) == {"rows": 6, "file": "relative.csv"}
    assert (tmp_path / "relative.csv").is_file()
    assert ExportRun.objects.get().file_name == str(tmp_path / "relative.csv")


def test_a_deletion_in_a_reopened_month_waits_until_the_month_is_accepted_again(world, tmp_path):
    export(tmp_path)
    report = world["d01_aug"]
    reporting.report_reopen(report=report, user=None, reason="更正")
    gone = Record.objects.filter(report=report).order_by("row_number").first()
    doc = gone.doc_number
    reporting.record_delete(record=gone, user=None)
    result = export(tmp_path, "while_reopened.csv", since_last=True)
    assert (result.rows, result.run.withdrawn) == (0, 0)  # neither sent nor withdrawn while reopened
    reporting.report_submit(report=report, user=None, confirm_nil=True)
    reporting.report_accept(report=report, user=None)
    after = export(tmp_path, "accepted.csv", since_last=True)
    assert (after.rows, [w["doc_number"] for w in after.withdrawn]) == (0, [doc])


def test_a_record_moved_to_another_month_then_deleted_there_is_withdrawn_by_that_months_export(world, tmp_path,
                                                                                                 upload):
    """Withdrawals are category-wide, whatever the months exported: the month a record last went out from
    need not be where it was deleted (an unchanged record moved to another month does not go out again)."""
    export(tmp_path, start=AUG, end=AUG)
    aug = world["d02_aug"]
    reporting.report_reopen(report=aug, user=None, reason="移到九月")
    moved = Record.objects.filter(report=aug).order_by("row_number").first()
    data = dict(moved.data)
    reporting.record_delete(record=moved, user=None)
    reporting.report_submit(report=aug, user=None, confirm_nil=True)
    reporting.report_accept(report=aug, user=None)
    sep = month("D02", SEP, [data], upload)
    assert export(tmp_path, "sep.csv", since_last=True, start=SEP, end=SEP).rows == 0  # unchanged: not sent
    reporting.report_reopen(report=sep, user=None, reason="删除")
    reporting.record_delete(record=Record.objects.get(report=sep), user=None)
    assert export(tmp_path, "reopened.csv", since_last=True, start=SEP, end=SEP).run.withdrawn == 0  # waits
    reporting.report_submit(report=sep, user=None, confirm_nil=True)
    reporting.report_accept(report=sep, user=None)
    result = export(tmp_path, "sep2.csv", since_last=True, start=SEP, end=SEP)
    assert result.withdrawn == [{"unit": "D02", "period": "2019-08", "doc_number": data["doc_number"]}]


def test_since_last_compares_runs_logged_with_md5_by_md5(world, tmp_path):
    """Runs logged before the content key became SHA-256 keep MD5 keys (migration 0003): --since-last compares
    each identity with its own run's hash, so an upgrade sends nothing again, and a change still goes out."""
    first = export(tmp_path, "full.csv").run
    assert first.content_hash == "sha256"
    data = {(r.unit_id, r.doc_number): Record._meta.get_field("data").get_prep_value(r.data)
            for r in Record.objects.all()}
    for part in ExportLedger.objects.filter(run=first):  # what a run logged before the change holds
        part.content_keys = [services.legacy_content_key(data[part.unit_id, doc]) for doc in part.doc_numbers]
        part.save()
    ExportRun.objects.filter(pk=first.pk).update(content_hash="md5")
    assert services.legacy_content_key("{}") != services.content_key("{}")

    assert export(tmp_path, "none.csv", since_last=True).rows == 0
    report = world["d01_aug"]
    reporting.report_reopen(report=report, user=None, reason="更正")
    corrected = Record.objects.filter(report=report).order_by("row_number").first()
    reporting.record_update(record=corrected, values={"content": "更正后的许可内容"}, user=None)
    reporting.report_submit(report=report, user=None, confirm_nil=True)
    reporting.report_accept(report=report, user=None)
    changed = export(tmp_path, "changed.csv", since_last=True)
    assert changed.rows == 1 and changed.run.content_hash == "sha256"
    assert [r["XK_NR"] for r in as_dicts(csv_rows(tmp_path / "changed.csv"))] == ["更正后的许可内容"]
    assert export(tmp_path, "after.csv", since_last=True).rows == 0  # the new run's SHA-256 key is compared


def test_a_failed_run_leaves_neither_file_nor_log(world, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("写入失败")

    monkeypatch.setattr(services, "_withdrawals_write", broken)  # after the file is written
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(RuntimeError):
        export(folder)
    assert list(folder.iterdir()) == [] and not ExportRun.objects.exists() and not ExportLedger.objects.exists()


def test_reports_left_untouched(world, tmp_path):
    """Exporting reads only: the months keep their state."""
    export(tmp_path)
    assert MonthlyReport.objects.get(pk=world["d01_sep"].pk).status == ReportStatus.SUBMITTED
    assert datetime.date(2019, 8, 1) == world["d01_aug"].period


def test_the_files_rows_are_the_converted_records(world, upload, tmp_path):
    """The file holds exactly what the converter makes of each stored record (codes, amounts, blanks,
    apostrophes), read back from CSV and from xlsx (amounts as numbers), in month-unit-row order."""
    rows = [record("penalty", 1, fine=0.5, confiscated="12"), record("penalty", 2, fine="0.000001"),
            record("penalty", 3, fine="1234.5", penalty_content="-扣分", facts="\t制表符开头", basis="a&b<c>\nd"),
            record("penalty", 4, subject_type="自然人", credit_code="", id_type="台胞证", id_number="T1234567")]
    month("D03", AUG, rows, upload, schema="penalty", category="admin_penalty")
    for category, report_filter in (("admin_license", {"report__in": [world["d01_aug"], world["d02_aug"]]}),
                                    ("admin_penalty", {"report__unit__code": "D03"})):
        layout = national.LAYOUTS[category]
        convert = services._Converter(layout)
        records = Record.objects.filter(category__code=category, **report_filter).order_by("report__unit__code",
                                                                                           "row_number")
        expected = [[services.sanitize_csv(v) for v in convert(dict(r.data))] for r in records]
        export(tmp_path, f"{category}.csv", category=category)
        assert csv_rows(tmp_path / f"{category}.csv")[1:] == expected
        export(tmp_path, f"{category}.xlsx", category=category)
        sheet = openpyxl.load_workbook(tmp_path / f"{category}.xlsx").active
        got = [["" if v is None else (services.amount_text(v) if isinstance(v, float | int) else v) for v in row]
               for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert got == [convert(dict(r.data)) for r in records]
