"""The statistics commands: `export_table` (exact JSON contract) and `rollup`."""

import datetime
import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rankings.models import CategoryStat, ReportStat, RollupMark, StatTable
from reporting import services as reporting_services
from reporting.models import Unit

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def export_json(table, *extra):
    return json.loads(run("export_table", table, "--year", "2019", "--through", "3", "--format", "json", *extra))


def test_export_table_json_is_the_exact_contract(dataset):
    payload = export_json("county_park")

    assert list(payload) == ["table", "title", "columns", "rows", "totals"]
    assert payload["table"] == "county_park"
    assert payload["title"] == "2019年1—3月份各县（市）区、园区信源单位数据报送情况统计表"
    labels = list(StatTable.objects.get(code="county_park").columns.order_by("position").values_list("label", flat=True))
    assert payload["columns"] == labels
    assert len(payload["rows"]) == 11
    for row in payload["rows"]:
        assert list(row) == ["unit", "name", "group", "values", "total"]
        assert list(row["values"]) == labels  # every label, derived ones included
        assert row["total"] == sum(v for label, v in row["values"].items() if label != "月度报表情况")
        assert row["values"] == data.expected_row(labels, data.COUNTY_PARK_1_3.get(row["unit"], {}))
    assert {r["group"] for r in payload["rows"]} == {"county", "park"}
    assert payload["totals"] == {label: sum(r["values"][label] for r in payload["rows"]) for label in labels}


def test_export_table_json_for_the_department_table(dataset):
    payload = export_json("department")

    assert len(payload["rows"]) == 63
    d01 = next(r for r in payload["rows"] if r["unit"] == "D01")
    assert d01["name"] == "市审批局" and d01["group"] == "department"
    assert d01["values"]["总计"] == d01["total"] == 10
    for row in payload["rows"]:
        assert row["total"] == sum(v for label, v in row["values"].items() if label != "总计")
    assert payload["totals"]["总计"] == 21


def test_export_table_from_restricts_the_range(dataset):
    payload = json.loads(run("export_table", "county_park", "--year", "2019", "--from", "2", "--through", "2",
                             "--format", "json"))

    assert payload["title"].startswith("2019年2—2月份")
    c01 = next(r for r in payload["rows"] if r["unit"] == "C01")
    assert c01["values"]["“双公示”报送"] == 1


def test_export_table_xlsx_to_a_file(dataset, tmp_path):
    target = tmp_path / "表.xlsx"

    run("export_table", "department", "--year", "2019", "--through", "3", "--format", "xlsx", "-o", str(target))

    sheet = openpyxl.load_workbook(target).active
    assert sheet["A1"].value == "2019年1—3月份市有关部门信源单位数据上报情况"
    assert sheet["C4"].value == 5 and sheet["S4"].value == 10


def test_export_table_csv_and_json_to_files(dataset, tmp_path):
    run("export_table", "department", "--year", "2019", "--through", "3", "--format", "csv", "-o", str(tmp_path / "t.csv"))
    run("export_table", "department", "--year", "2019", "--through", "3", "--format", "json", "-o", str(tmp_path / "t.json"))

    assert (tmp_path / "t.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert json.loads((tmp_path / "t.json").read_text())["totals"]["总计"] == 21


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "--year", "2019", "--through", "3", "--format", "json"], "没有编码为“nope”的统计表"),
        (["department", "--year", "2019", "--from", "4", "--through", "3", "--format", "json"], "起始月（4）不能晚于截止月（3）"),
        (["department", "--year", "2019", "--through", "13", "--format", "json"], "月份应在 1—12 之间"),
        (["department", "--year", "2019", "--from", "0", "--through", "3", "--format", "json"], "月份应在 1—12 之间"),
        (["department", "--year", "2019", "--through", "3", "--format", "xlsx"], "请用 -o 指定输出文件"),
    ],
)
def test_export_table_refuses_bad_arguments_in_chinese(dataset, args, message):
    with pytest.raises(CommandError, match=message):
        run("export_table", *args)


@pytest.mark.parametrize(
    "args",
    [
        ["department", "--year", "2019", "--through", "3", "--format", "pdf"],
        ["department", "--year", "2019", "--format", "json"],
        ["department", "--year", "x", "--through", "3", "--format", "json"],
    ],
)
def test_export_table_argument_errors_are_command_errors(dataset, args):
    with pytest.raises(CommandError):
        run("export_table", *args)


def test_rollup_full_rebuilds_from_the_records(dataset):
    CategoryStat.objects.all().delete()
    ReportStat.objects.all().delete()

    output = run("rollup", "--full")

    assert "已全量重建统计" in output
    assert export_json("county_park")["totals"]["“双公示”报送"] == 6


def test_rollup_of_one_unit_month(dataset):
    c01 = Unit.objects.get(code="C01")
    CategoryStat.objects.filter(unit=c01).delete()
    RollupMark.objects.update_or_create(
        unit=c01, period="2019-01-01", defaults={"pending": True, "requested_at": "2019-02-01T00:00:00Z"}
    )

    output = run("rollup", "--unit", "c01", "--period", "2019-01")

    assert "C01" in output and "2019年1月" in output
    assert CategoryStat.objects.filter(unit=c01, period__month=1).count() > 0
    assert not RollupMark.objects.get(unit=c01, period="2019-01-01").pending
    c01_row = next(r for r in export_json("county_park")["rows"] if r["unit"] == "C01")
    assert c01_row["values"]["“双公示”报送"] == 5 + 0  # February is still deleted
    run("rollup", "--unit", "C01", "--period", "2019-02")
    c01_row = next(r for r in export_json("county_park")["rows"] if r["unit"] == "C01")
    assert c01_row["values"]["“双公示”报送"] == 6


def test_rollup_without_arguments_runs_the_pending_marks(dataset):
    # Accepting writes a pending mark; its on-commit enqueue never runs inside this test's transaction.
    report = reporting_services.report_get_or_create(
        unit=Unit.objects.get(code="C05"), period=datetime.date(data.YEAR, 5, 1)
    )
    report = reporting_services.report_submit(report=report, user=None, confirm_nil=True)
    reporting_services.report_accept(report=report, user=None)
    assert RollupMark.objects.filter(pending=True).count() == 1

    output = run("rollup")

    assert output == "已处理 1 个待汇总标记。\n"
    assert not RollupMark.objects.filter(pending=True).exists()
    assert ReportStat.objects.get(unit__code="C05", period__month=5).accepted is True
    assert run("rollup") == "没有待汇总的标记。\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--unit", "C01"], "--unit 和 --period 必须同时指定"),
        (["--period", "2019-01"], "--unit 和 --period 必须同时指定"),
        (["--full", "--unit", "C01", "--period", "2019-01"], "--full 不能与"),
        (["--unit", "ZZZ", "--period", "2019-01"], "没有编码为“ZZZ”的信源单位"),
        (["--unit", "C01", "--period", "2019-13"], "格式不对"),
    ],
)
def test_rollup_refuses_bad_arguments(dataset, args, message):
    with pytest.raises(CommandError, match=message):
        run("rollup", *args)
