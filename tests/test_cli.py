"""The operator CLI: import_records, set_count, declare_nil, submit_report, review_report, report_status."""

import io
import json

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connections
from django.utils import timezone

from reporting.models import (
    AuditEvent,
    ImportBatch,
    MonthlyReport,
    Record,
    ReportEntry,
    ReportStatus,
    Unit,
)

from .factories import csv_bytes, records, xlsx_bytes

MONTH = ["--unit", "D01", "--period", "2019-08"]
COUNTY_MONTH = ["--unit", "C01", "--period", "2019-08"]


def run(*args):
    """call_command with captured output: (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args):
    """Run a command that must fail: (message, stdout)."""
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(*args, stdout=out, stderr=io.StringIO())
    return str(exc.value), out.getvalue()


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def write(tmp_path):
    def _write(content, name="data.xlsx"):
        path = tmp_path / name
        path.write_bytes(content)
        return str(path)

    return _write


@pytest.fixture
def good_file(write):
    return write(xlsx_bytes("license", records("license", 3)), "许可.xlsx")


@pytest.fixture
def bad_file(write):
    rows = records("license", 3)
    rows[1]["credit_code"] = "91110000600037341A"
    rows[2]["decision_date"] = "2019-02-30"
    return write(xlsx_bytes("license", rows), "有错误.xlsx")


def d01_report():
    return MonthlyReport.objects.get(unit__code="D01", period="2019-08-01")


# --- import_records ---------------------------------------------------------------------


def test_import_json_last_line_reports_imported_rows(reference, good_file):
    out, _ = run("import_records", *MONTH, "--category", "admin_license", "--json", good_file)

    assert last_json(out) == {"imported": 3, "errors": [], "error_count": 0}
    assert Record.objects.filter(report=d01_report(), category__code="admin_license").count() == 3
    entry = ReportEntry.objects.get(report=d01_report(), category__code="admin_license")
    assert entry.record_count == 3


def test_import_human_output_summarises_in_chinese(reference, good_file):
    out, _ = run("import_records", *MONTH, "--category", "admin_license", good_file)

    assert "成功导入 3 条记录" in out


def test_import_is_audited_as_the_operator(reference, good_file):
    run("import_records", *MONTH, "--category", "admin_license", good_file)

    batch = ImportBatch.objects.get()
    assert batch.user is None
    assert batch.original_name == "许可.xlsx"
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORTED)
    assert event.actor is None
    assert event.details["rows"] == 3


def test_import_unit_code_is_case_insensitive(reference, good_file):
    out, _ = run("import_records", "--unit", "d01", "--period", "2019-08", "--category", "admin_license", "--json",
                 good_file)

    assert last_json(out)["imported"] == 3


def test_import_invalid_file_stores_nothing_and_lists_every_error(reference, bad_file):
    message, out = refused("import_records", *MONTH, "--category", "admin_license", "--json", bad_file)

    result = last_json(out)
    assert set(result) == {"imported", "errors", "error_count"}
    assert result["error_count"] == 2
    assert result["imported"] == 0
    assert result["errors"] == [
        {"row": 3, "column": "统一社会信用代码", "message": "统一社会信用代码校验位错误，请核对是否抄错"},
        {"row": 4, "column": "许可决定日期", "message": "“2019-02-30”不是有效日期（月份或日期超出范围）"},
    ]
    assert "本次未导入任何数据" in message
    assert Record.objects.count() == 0


def test_import_invalid_file_human_output_names_row_and_column(reference, bad_file):
    _, out = refused("import_records", *MONTH, "--category", "admin_license", bad_file)

    assert "第 3 行【统一社会信用代码】统一社会信用代码校验位错误，请核对是否抄错" in out.splitlines()
    assert "第 4 行【许可决定日期】“2019-02-30”不是有效日期（月份或日期超出范围）" in out.splitlines()


def test_import_keep_valid_rows_stores_the_good_rows_and_exits_zero(reference, bad_file):
    out, _ = run("import_records", *MONTH, "--category", "admin_license", "--json", "--keep-valid-rows", bad_file)

    result = last_json(out)
    assert result["imported"] == 1
    assert [e["row"] for e in result["errors"]] == [3, 4]
    assert Record.objects.count() == 1


def test_import_keep_valid_rows_with_no_valid_row_keeps_the_stored_rows(reference, good_file, write):
    run("import_records", *MONTH, "--category", "admin_license", good_file)
    all_bad = write(xlsx_bytes("license", records("license", 2, start=20, credit_code="X")), "全错.xlsx")

    message, out = refused("import_records", *MONTH, "--category", "admin_license", "--json", "--keep-valid-rows",
                           all_bad)

    assert last_json(out)["imported"] == 0
    assert "本次未导入任何数据" in message
    assert Record.objects.count() == 3


def test_import_refused_file_reports_reason_without_row(reference, write):
    path = write(b"PK\x03\x04 this is not really a workbook", "伪装.xlsx")

    message, out = refused("import_records", *MONTH, "--category", "admin_license", "--json", path)

    assert last_json(out) == {"imported": 0, "errors": [{"row": None, "column": None, "message": message}], "error_count": 1}
    assert "文件" in message
    assert Record.objects.count() == 0


def test_import_missing_required_column_is_refused(reference, write):
    path = write(csv_bytes("subject", records("subject", 2)).replace("事项".encode(), b"matter"), "s.csv")

    message, out = refused("import_records", *MONTH, "--category", "joint_punishment_case", "--json", path)

    assert "缺少必填列：事项" in message
    assert last_json(out)["errors"][0]["row"] is None


def test_import_same_file_twice_does_not_count_twice(reference, good_file):
    run("import_records", *MONTH, "--category", "admin_license", good_file)

    out, _ = run("import_records", *MONTH, "--category", "admin_license", "--json", good_file)

    assert last_json(out) == {"imported": 0, "errors": [], "error_count": 0}
    assert Record.objects.count() == 3
    assert ImportBatch.objects.filter(status=ImportBatch.Status.DUPLICATE).count() == 1


def test_import_corrected_file_replaces_the_category_rows(reference, write, good_file):
    run("import_records", *MONTH, "--category", "admin_license", good_file)
    corrected = write(xlsx_bytes("license", records("license", 2, start=10)), "更正.xlsx")

    out, _ = run("import_records", *MONTH, "--category", "admin_license", "--json", corrected)

    assert last_json(out)["imported"] == 2
    assert sorted(Record.objects.values_list("doc_number", flat=True)) == ["营测〔2019〕10号", "营测〔2019〕11号"]


def test_import_dry_run_stores_nothing(reference, good_file):
    out, _ = run("import_records", *MONTH, "--category", "admin_license", "--dry-run", "--json", good_file)

    assert last_json(out) == {"imported": 0, "errors": [], "error_count": 0}
    assert Record.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    assert MonthlyReport.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_import_dry_run_of_a_bad_file_fails_and_stores_nothing(reference, bad_file):
    message, out = refused("import_records", *MONTH, "--category", "admin_license", "--dry-run", "--json", bad_file)

    assert [e["row"] for e in last_json(out)["errors"]] == [3, 4]
    assert "试运行" in message
    assert ImportBatch.objects.count() == 0
    assert MonthlyReport.objects.count() == 0


def test_import_into_an_accepted_month_is_refused(reference, good_file, write):
    run("import_records", *MONTH, "--category", "admin_license", good_file)
    run("submit_report", *MONTH)
    run("review_report", *MONTH, "--accept")
    other = write(xlsx_bytes("license", records("license", 1, start=50)), "补充.xlsx")

    message, out = refused("import_records", *MONTH, "--category", "admin_license", "--json", other)

    assert "已通过" in message and "不能修改数据" in message
    assert last_json(out) == {"imported": 0, "errors": [{"row": None, "column": None, "message": message}], "error_count": 1}
    assert Record.objects.count() == 3


def test_import_dry_run_into_an_accepted_month_is_refused_too(reference, good_file):
    run("import_records", *MONTH, "--category", "admin_license", good_file)
    run("submit_report", *MONTH)
    run("review_report", *MONTH, "--accept")

    message, _ = refused("import_records", *MONTH, "--category", "admin_license", "--dry-run", good_file)

    assert "已通过" in message


def test_import_refuses_a_count_category(reference, write):
    path = write(csv_bytes("subject", records("subject", 1)), "x.csv")

    message, out = refused("import_records", *COUNTY_MONTH, "--category", "gov_dishonesty_unresolved", "--json", path)

    assert "数量类别" in message and "set_count" in message
    assert last_json(out)["errors"][0]["message"] == message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--unit", "X99", "--period", "2019-08"], "没有编码为“X99”的信源单位"),
        (["--unit", "D01", "--period", "2019-8-1"], "格式不对，应为 YYYY-MM"),
        (["--unit", "D01", "--period", "2019-13"], "格式不对，应为 YYYY-MM"),
    ],
)
def test_bad_unit_or_period_is_a_chinese_error(reference, good_file, args, expected):
    message, _ = refused("import_records", *args, "--category", "admin_license", good_file)

    assert expected in message


def test_unknown_or_inapplicable_category_is_refused(reference, good_file):
    unknown, _ = refused("import_records", *MONTH, "--category", "no_such_thing", good_file)
    county_only, _ = refused("import_records", *MONTH, "--category", "credit_commitment", good_file)

    assert "没有编码为“no_such_thing”的报送类别" in unknown
    assert "不适用于" in county_only


def test_missing_file_is_refused(reference):
    message, _ = refused("import_records", *MONTH, "--category", "admin_license", "/nonexistent/x.xlsx")

    assert "找不到文件" in message


def test_import_exit_status_from_the_command_line(reference, good_file, bad_file, monkeypatch, capsys):
    """run_from_argv is what manage.py calls: 0 when stored, 1 when refused, JSON last on stdout."""
    # The test's database connection must survive the command's clean-up.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    command = load_command_class("reporting", "import_records")
    argv = ["manage.py", "import_records", *MONTH, "--category", "admin_license", "--json"]

    command.run_from_argv([*argv, good_file])
    assert last_json(capsys.readouterr().out) == {"imported": 3, "errors": [], "error_count": 0}

    with pytest.raises(SystemExit) as exc:
        load_command_class("reporting", "import_records").run_from_argv([*argv, bad_file])
    assert exc.value.code == 1
    captured = capsys.readouterr()
    assert last_json(captured.out)["imported"] == 0
    assert "CommandError" in captured.err


# --- set_count / declare_nil ------------------------------------------------------------


def test_set_count_stores_the_number(reference):
    out, _ = run("set_count", *COUNTY_MONTH, "--category", "gov_dishonesty_unresolved", "7")

    entry = ReportEntry.objects.get(report__unit__code="C01", category__code="gov_dishonesty_unresolved")
    assert entry.count == 7
    assert "数量为 7" in out
    assert AuditEvent.objects.get(action=AuditEvent.Action.COUNT_SET).actor is None


@pytest.mark.parametrize("value", ["-1", "abc", "1.5"])
def test_set_count_rejects_what_is_not_a_non_negative_integer(reference, value):
    message, _ = refused("set_count", *COUNTY_MONTH, "--category", "gov_dishonesty_unresolved", value)

    assert "不小于 0 的整数" in message


def test_set_count_on_a_records_category_is_refused(reference):
    message, _ = refused("set_count", *MONTH, "--category", "admin_license", "3")

    assert "须上传逐条记录" in message


def test_declare_nil_marks_the_category(reference):
    out, _ = run("declare_nil", *MONTH, "--category", "admin_penalty")

    entry = ReportEntry.objects.get(report=d01_report(), category__code="admin_penalty")
    assert entry.is_nil is True
    assert "已声明本月无数据" in out


def test_declare_nil_is_refused_when_records_exist(reference, good_file):
    run("import_records", *MONTH, "--category", "admin_license", good_file)

    message, _ = refused("declare_nil", *MONTH, "--category", "admin_license")

    assert "已导入 3 条记录" in message


# --- submit_report / review_report ------------------------------------------------------


def test_submit_declares_untouched_categories_nil_and_lists_them(reference, good_file):
    run("import_records", *MONTH, "--category", "admin_license", good_file)

    out, _ = run("submit_report", *MONTH)

    report = d01_report()
    assert report.status == ReportStatus.SUBMITTED
    assert report.on_time is False  # August 2019 was due on 5 September 2019
    assert "逾期报送" in out
    assert "以下 15 个类别未填报" in out and "行政处罚" in out and "行政许可" not in out.splitlines()[-1]
    entries = ReportEntry.objects.filter(report=report)
    assert entries.filter(is_nil=True).count() == 15
    assert not entries.get(category__code="admin_license").is_nil


def test_submit_this_month_is_on_time(reference):
    today = timezone.localdate()
    period = f"{today:%Y-%m}"

    out, _ = run("submit_report", "--unit", "D02", "--period", period)

    assert MonthlyReport.objects.get(unit__code="D02").on_time is True
    assert "按时报送" in out


def test_submit_twice_is_refused(reference):
    run("submit_report", *MONTH)

    message, _ = refused("submit_report", *MONTH)

    assert "已提交" in message


def test_review_accept_locks_the_month(reference):
    run("submit_report", *MONTH)

    out, _ = run("review_report", *MONTH, "--accept")

    report = d01_report()
    assert report.status == ReportStatus.ACCEPTED
    assert report.reviewed_by is None and report.reviewed_at is not None
    assert "已审核通过" in out
    message, _ = refused("declare_nil", *MONTH, "--category", "admin_license")
    assert "不能修改数据" in message


def test_review_return_needs_a_reason_and_records_it(reference):
    run("submit_report", *MONTH)

    empty, _ = refused("review_report", *MONTH, "--return", "  ")
    out, _ = run("review_report", *MONTH, "--return", "行政许可数量明显偏少，请核对")

    assert "必须填写退回原因" in empty
    report = d01_report()
    assert report.status == ReportStatus.RETURNED
    assert report.return_reason == "行政许可数量明显偏少，请核对"
    assert "已退回" in out


def test_returned_month_can_be_corrected_and_resubmitted(reference, good_file):
    run("submit_report", *MONTH)
    run("review_report", *MONTH, "--return", "漏报行政许可")

    run("import_records", *MONTH, "--category", "admin_license", good_file)
    run("submit_report", *MONTH)

    assert d01_report().status == ReportStatus.SUBMITTED
    assert Record.objects.count() == 3


def test_review_reopen_returns_an_accepted_month(reference):
    run("submit_report", *MONTH)
    run("review_report", *MONTH, "--accept")

    out, _ = run("review_report", *MONTH, "--reopen", "发现重复数据")

    report = d01_report()
    assert report.status == ReportStatus.RETURNED
    assert report.return_reason == "发现重复数据"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REOPENED, report=report).exists()


def test_review_a_draft_is_refused(reference):
    message, _ = refused("review_report", *MONTH, "--accept")

    assert "填报中" in message


@pytest.mark.parametrize("actions", [[], ["--accept", "--return", "x"]])
def test_review_needs_exactly_one_action(reference, actions):
    with pytest.raises(CommandError):
        call_command("review_report", *MONTH, *actions, stdout=io.StringIO(), stderr=io.StringIO())


# --- report_status ----------------------------------------------------------------------


def status_of(*month):
    out, _ = run("report_status", *month, "--json")
    assert len(out.strip().splitlines()) == 1
    return json.loads(out)


def test_status_lists_every_category_of_a_department(reference):
    status = status_of(*MONTH)

    assert set(status) == {"status", "url", "on_time", "categories"}
    assert status["status"] == "draft"
    assert status["on_time"] is None
    assert status["url"] == "/reports/D01/2019-08/"
    assert len(status["categories"]) == 16
    assert all(v == {"records": 0, "count": None, "nil": False} for v in status["categories"].values())


def test_status_lists_every_category_of_a_county(reference):
    status = status_of(*COUNTY_MONTH)

    assert len(status["categories"]) == 23
    assert status["categories"]["gov_dishonesty_unresolved"] == {"records": 0, "count": None, "nil": False}


def test_status_of_a_month_never_opened_creates_nothing(reference):
    status_of(*MONTH)

    assert MonthlyReport.objects.count() == 0


def test_status_reflects_records_counts_nil_and_submission(reference, write):
    path = write(csv_bytes("subject", records("subject", 4)), "承诺书.csv")
    run("import_records", *COUNTY_MONTH, "--category", "credit_commitment", path)
    run("set_count", *COUNTY_MONTH, "--category", "dishonest_rep_interviews", "5")
    run("set_count", *COUNTY_MONTH, "--category", "gov_dishonesty_unresolved", "0")
    run("declare_nil", *COUNTY_MONTH, "--category", "credit_news")
    run("submit_report", *COUNTY_MONTH)

    status = status_of(*COUNTY_MONTH)

    report = MonthlyReport.objects.get(unit__code="C01")
    assert status["status"] == "submitted"
    assert status["url"] == report.get_absolute_url()
    assert status["on_time"] is False
    categories = status["categories"]
    assert categories["credit_commitment"] == {"records": 4, "count": None, "nil": False}
    assert categories["dishonest_rep_interviews"] == {"records": 0, "count": 5, "nil": False}
    assert categories["gov_dishonesty_unresolved"] == {"records": 0, "count": 0, "nil": False}
    assert categories["credit_news"] == {"records": 0, "count": None, "nil": True}
    # Untouched at submission: nil.
    assert categories["admin_license"] == {"records": 0, "count": None, "nil": True}


def test_status_after_acceptance(reference):
    run("submit_report", *MONTH)
    run("review_report", *MONTH, "--accept")

    assert status_of(*MONTH)["status"] == "accepted"


def test_status_table_is_readable_chinese(reference, write):
    path = write(csv_bytes("subject", records("subject", 2)), "承诺书.csv")
    run("import_records", *COUNTY_MONTH, "--category", "credit_commitment", path)

    out, _ = run("report_status", *COUNTY_MONTH)

    assert "状态：填报中" in out
    lines = out.splitlines()
    assert any(line.startswith("credit_commitment") and line.endswith("2 条记录") for line in lines)
    assert sum(line.endswith("未填报") for line in lines) == 22


def test_status_of_unknown_unit_is_refused(reference):
    message, _ = refused("report_status", "--unit", "Z01", "--period", "2019-08", "--json")

    assert "信源单位" in message


def test_cli_sees_units_by_code_in_any_case(reference):
    assert Unit.objects.filter(code="C01").exists()
    assert status_of("--unit", "c01", "--period", "2019-08")["url"] == "/reports/C01/2019-08/"
