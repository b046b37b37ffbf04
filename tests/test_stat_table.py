"""The statistics tables of the bulletin, computed from rollup rows, against hand-computed numbers."""


from rankings import selectors, services
from rankings.models import StatColumn, StatTable
from reporting import services as reporting_services
from reporting.models import MonthlyReport, Unit

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset
COUNTY_PARK_LABELS = [
    "政府失信未治理", "信用承诺书", "信用工作报道", "“双公示”报送", "开展诚信教育、宣传活动", "文明办“专项治理”活动",
    "联合奖惩案例", "约谈失信企业代表数量", "行业监管上报数量", "月度报表情况",
]


def compute(code, first=1, last=3, **kwargs):
    return selectors.table_compute(StatTable.objects.get(code=code), year=data.YEAR, first=first, last=last, **kwargs)


def rows_by_unit(computed):
    return {row.unit.code: row for row in computed.rows}


def assert_cells(computed, expected):
    """Every cell of every row: the expected units as given, all other units zero."""
    for code, row in rows_by_unit(computed).items():
        assert row.values == data.expected_row(computed.labels, expected.get(code, {})), code


def test_county_park_table_matches_hand_computed_numbers_cell_by_cell(dataset):
    computed = compute("county_park")

    assert computed.labels == COUNTY_PARK_LABELS
    assert computed.title == "2019年1—3月份各县（市）区、园区信源单位数据报送情况统计表"
    assert_cells(computed, data.COUNTY_PARK_1_3)
    # Category columns only: 月度报表情况 is not part of the row's total.
    assert rows_by_unit(computed)["C01"].total == 5 + 4 + 6 + 7
    assert computed.totals == {
        label: sum(v.get(label, 0) for v in data.COUNTY_PARK_1_3.values()) for label in COUNTY_PARK_LABELS
    }


def test_county_park_rows_are_grouped_counties_then_parks(dataset):
    computed = compute("county_park")

    assert [(g.kind, g.label) for g in computed.groups] == [("county", "县（市）区"), ("park", "园区")]
    assert [r.unit.code for r in computed.groups[0].rows] == ["C01", "C02", "C03", "C04", "C05", "C06"]
    assert [r.unit.code for r in computed.groups[1].rows] == ["P01", "P02", "P03", "P04", "P05"]


def test_double_disclosure_column_sums_licenses_and_penalties(dataset):
    row = rows_by_unit(compute("county_park"))["C01"]

    assert row.values["“双公示”报送"] == 3 + 2 + 1


def test_monthly_reports_column_counts_accepted_months_only(dataset):
    rows = rows_by_unit(compute("county_park"))

    assert rows["C01"].values["月度报表情况"] == 2  # March is only submitted
    assert rows["C02"].values["月度报表情况"] == 1  # February was reopened
    assert rows["C03"].values["月度报表情况"] == 0
    assert MonthlyReport.objects.get(unit__code="C01", period__month=3).status == "submitted"


def test_submitted_and_reopened_months_do_not_count(dataset):
    rows = rows_by_unit(compute("county_park", first=3, last=3))
    assert rows["C01"].values["“双公示”报送"] == 0

    rows = rows_by_unit(compute("county_park", first=2, last=2))
    assert rows["C02"].values == data.expected_row(COUNTY_PARK_LABELS, {})


def test_department_table_matches_hand_computed_numbers_cell_by_cell(dataset):
    computed = compute("department")

    assert computed.title == "2019年1—3月份市有关部门信源单位数据上报情况"
    assert len(computed.rows) == 63
    assert [r.number for r in computed.rows] == list(range(1, 64))
    assert computed.rows[0].unit.code == "D01"
    assert_cells(computed, data.DEPARTMENT_1_3)
    assert computed.totals["行政许可"] == 5 + 4
    assert computed.totals["行政处罚"] == 2 + 2
    assert computed.totals["总计"] == 10 + 2 + 6 + 3


def test_row_total_is_the_sum_of_the_category_columns(dataset):
    computed = compute("department")

    for row in computed.rows:
        categories = sum(v for label, v in row.values.items() if label != "总计")
        assert row.values["总计"] == row.total == categories


def test_totals_row_sums_every_column(dataset):
    for code in ("county_park", "department"):
        computed = compute(code)
        for label in computed.labels:
            assert computed.totals[label] == sum(r.values[label] for r in computed.rows)


def test_units_with_nothing_in_the_range_are_flagged_never_reported(dataset):
    rows = rows_by_unit(compute("department"))

    assert {code for code, row in rows.items() if row.never_reported} == set(rows) - data.REPORTED_1_3 - {"P02"}
    # P02 sent an all-nil month: a report of zero, not a unit that never reported.
    assert rows["P02"].never_reported is False
    assert rows_by_unit(compute("county_park"))["P02"].values["月度报表情况"] == 1


def test_month_range_restricts_the_numbers(dataset):
    assert_cells(compute("county_park", first=2, last=2), data.COUNTY_PARK_2_2)

    rows = rows_by_unit(compute("department", first=1, last=1))
    assert rows["D01"].values["行政许可"] == 5
    assert rows["D01"].values["行政处罚"] == 0
    assert rows["D01"].values["信用信息"] == 0
    assert rows["D02"].never_reported is True

    rows = rows_by_unit(compute("department", first=3, last=3))
    assert rows["D01"].values["总计"] == 5
    assert rows["C01"].values["总计"] == 0  # March of C01 is only submitted


def test_a_column_added_in_the_database_appears_without_code_changes(dataset):
    table = StatTable.objects.get(code="county_park")
    StatColumn.objects.create(table=table, position=11, label="证照与承诺", source="admin_license+credit_commitment")

    computed = compute("county_park")

    assert computed.labels[-1] == "证照与承诺"
    rows = rows_by_unit(computed)
    assert rows["C01"].values["证照与承诺"] == 3 + 1 + 4
    assert rows["C02"].values["证照与承诺"] == 3
    assert rows["P01"].values["证照与承诺"] == 2
    assert computed.totals["证照与承诺"] == 8 + 3 + 2
    assert computed.as_dict()["columns"][-1] == "证照与承诺"


def test_a_table_added_in_the_database_is_computed(dataset):
    table = StatTable.objects.create(code="parks_only", name="园区表", title_template="{年}年{起}—{止}月园区", group_kinds="park")
    StatColumn.objects.create(table=table, position=1, label="承诺", source="credit_commitment")
    StatColumn.objects.create(table=table, position=2, label="报表", source="=monthly_reports")

    computed = compute("parks_only")

    assert computed.title == "2019年1—3月园区"
    assert [r.unit.code for r in computed.rows] == ["P01", "P02", "P03", "P04", "P05"]
    assert rows_by_unit(computed)["P01"].values == {"承诺": 2, "报表": 1}


def test_unit_scope_limits_the_rows_to_that_unit(dataset):
    computed = compute("department", units=[Unit.objects.get(code="C01")])

    assert [r.unit.code for r in computed.rows] == ["C01"]
    assert computed.totals == computed.rows[0].values


def test_default_range_runs_to_the_last_accepted_month(dataset):
    assert selectors.default_range(data.YEAR) == (1, 3)
    assert selectors.default_range(data.YEAR, units=[Unit.objects.get(code="P01")]) == (1, 2)
    assert selectors.years_with_data() == [data.YEAR]
    assert selectors.default_year() == data.YEAR


def test_unit_trend_gives_monthly_values_per_column(dataset):
    trend = selectors.unit_trend(Unit.objects.get(code="C01"), year=data.YEAR, table=StatTable.objects.get(code="county_park"))

    assert trend["“双公示”报送"][:4] == [5, 1, 0, 0]
    assert trend["约谈失信企业代表数量"][:3] == [0, 7, 0]
    assert "月度报表情况" not in trend


def test_acceptance_reaches_the_table_through_the_rollup_task(users, upload, django_capture_on_commit_callbacks):
    builder = data.Builder(upload)
    report = builder.report("C04", 5, uploads={"credit_commitment": 2})
    assert rows_by_unit(compute("county_park", 5, 5))["C04"].values["信用承诺书"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        reporting_services.report_accept(report=report, user=None)

    assert rows_by_unit(compute("county_park", 5, 5))["C04"].values["信用承诺书"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        reporting_services.report_reopen(report=report, user=None, reason="重报")
    assert rows_by_unit(compute("county_park", 5, 5))["C04"].values["信用承诺书"] == 0


def test_rollup_of_one_month_equals_the_full_rebuild(dataset):
    before = compute("department").as_dict()
    for report in MonthlyReport.objects.all():
        services.stats_rollup(unit_id=report.unit_id, period=report.period)
        services.stats_rollup(unit_id=report.unit_id, period=report.period)

    assert compute("department").as_dict() == before

