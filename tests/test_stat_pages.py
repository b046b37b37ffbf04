"""The statistics pages: scoping, range form, drill-down, charts' data and downloads."""

import csv
import io
import json
import re

import openpyxl
import pytest
from django.urls import reverse

from rankings.models import StatTable

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset

RANGE = {"year": data.YEAR, "from": 1, "through": 3}


def table_url(code="department"):
    return reverse("stat_table", args=[code])


def unit_rows(response):
    return re.findall(r'<tr data-unit="([^"]+)"', response.content.decode())


def cell_text(response, unit, position):
    """The number shown in a unit's cell of the given column (1-based position)."""
    html = response.content.decode()
    row = re.search(rf'<tr data-unit="{unit}".*?</tr>', html, re.S).group(0)
    values = re.findall(r"column=(\d+)\">(\d+)</a>", row)
    return dict(values)[str(position)]


def chart_data(response):
    html = response.content.decode()
    return json.loads(re.search(r'<script id="column-chart-data" type="application/json">(.*?)</script>', html, re.S)[1])


@pytest.fixture
def office(client, dataset):
    client.force_login(dataset["office"])
    return client


@pytest.fixture
def reporter(client, dataset):
    """The D01 reporter (市审批局)."""
    client.force_login(dataset["dept"])
    return client


def test_anonymous_users_are_sent_to_login(client, dataset):
    for url in (reverse("stat_index"), table_url(), reverse("stat_unit", args=["D01"]),
                reverse("stat_cell", args=["department"]) + "?unit=D01&column=1"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_index_lists_the_active_tables(office):
    StatTable.objects.create(code="hidden", name="停用的表", title_template="x", is_active=False)

    response = office.get(reverse("stat_index"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "县（市）区、园区数据报送情况统计表" in content
    assert "市有关部门数据上报情况表" in content
    assert "停用的表" not in content
    assert table_url("county_park") in content


def test_office_sees_all_63_units_numbered_with_the_total_row_on_top(office):
    response = office.get(table_url(), RANGE)

    assert response.status_code == 200
    assert len(unit_rows(response)) == 63
    content = response.content.decode()
    assert "2019年1—3月份市有关部门信源单位数据上报情况" in content
    assert content.index('id="stat-total"') < content.index('data-unit="D01"')
    assert cell_text(response, "D01", 1) == "5"  # 行政许可
    assert cell_text(response, "D01", 17) == "10"  # 总计
    assert cell_text(response, "C01", 17) == "6"


def test_county_park_table_has_group_header_rows(office):
    response = office.get(table_url("county_park"), RANGE)

    content = response.content.decode()
    assert unit_rows(response) == ["C01", "C02", "C03", "C04", "C05", "C06", "P01", "P02", "P03", "P04", "P05"]
    assert content.index(">县（市）区</th>") < content.index('data-unit="C01"')
    assert content.index('data-unit="C06"') < content.index(">园区</th>") < content.index('data-unit="P01"')
    assert cell_text(response, "C01", 4) == "6"  # “双公示”报送


def test_units_that_never_reported_are_marked(office):
    response = office.get(table_url("county_park"), RANGE)

    html = response.content.decode()
    c03 = re.search(r'<tr data-unit="C03".*?</tr>', html, re.S).group(0)
    c01 = re.search(r'<tr data-unit="C01".*?</tr>', html, re.S).group(0)
    assert 'class="stat-never"' in c03 and "从未上报" in c03
    assert "从未上报" not in c01


def test_default_range_is_january_to_the_last_accepted_month(office):
    response = office.get(table_url("county_park"))

    assert response.context["range"].year == data.YEAR  # no data this year: falls back to 2019
    assert (response.context["range"].first, response.context["range"].last) == (1, 3)
    assert "2019年1—3月份" in response.content.decode()


def test_this_years_default_range_runs_to_the_last_month_that_has_ended(office, monkeypatch):
    """Not 1—1月 when nothing is accepted yet: in late November the page opens on 1—10月."""
    import datetime

    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: datetime.date(data.YEAR, 11, 30))
    response = office.get(table_url("county_park"))

    assert (response.context["range"].first, response.context["range"].last) == (1, 10)
    assert f"{data.YEAR}年1—10月份" in response.content.decode()


def test_json_export_is_offered_to_the_office_only(office, client, dataset):
    from reporting.models import User

    assert "JSON" in office.get(table_url()).content.decode()
    client.force_login(User.objects.get(username="d01"))
    page = client.get(table_url()).content.decode()
    assert "JSON" not in page and "导出 Excel" in page


def test_range_form_changes_the_numbers(office):
    response = office.get(table_url("county_park"), {"year": data.YEAR, "from": 2, "through": 2})

    assert "2019年2—2月份" in response.content.decode()
    assert cell_text(response, "C01", 4) == "1"
    assert cell_text(response, "C01", 10) == "1"


def test_a_backwards_range_is_refused_with_a_message(office):
    response = office.get(table_url("county_park"), {"year": data.YEAR, "from": 3, "through": 1})

    assert "起始月不能晚于截止月" in response.content.decode()
    assert (response.context["range"].first, response.context["range"].last) == (1, 3)


def test_every_cell_links_to_what_is_behind_it(office):
    response = office.get(table_url("county_park"), RANGE)

    html = response.content.decode()
    row = re.search(r'<tr data-unit="C01".*?</tr>', html, re.S).group(0)
    links = re.findall(r'href="([^"]*cell/[^"]*)"', row)
    assert len(links) == 10
    assert links[3].replace("&amp;", "&").endswith("year=2019&from=1&through=3&unit=C01&column=4")


def test_chart_data_is_embedded_as_json(office):
    data_ = chart_data(office.get(table_url(), RANGE))

    assert data_["columns"][-1] == "总计"
    assert data_["initial"] == 16
    assert len(data_["units"]) == 63
    d01 = data_["units"].index("市审批局")
    assert data_["values"][d01][16] == 10


def test_unit_reporter_sees_only_their_own_row(reporter):
    response = reporter.get(table_url(), RANGE)

    assert response.status_code == 200
    assert unit_rows(response) == ["D01"]
    content = response.content.decode()
    for other in ("市场监管局", "大石桥市", "自贸区"):
        assert other not in content
    chart = chart_data(response)
    assert chart["units"] == ["市审批局"]
    # The 合计 row is their own numbers, not the city's.
    assert re.search(r'id="stat-total">.*?<td>5</td>', content, re.S)


def test_unit_reporter_sees_no_rows_of_a_table_without_their_kind(client, dataset):
    client.force_login(dataset["dept"])

    response = client.get(table_url("county_park"), RANGE)

    assert response.status_code == 200
    assert unit_rows(response) == []
    assert "鲅鱼圈" not in response.content.decode()


def test_unit_reporter_cannot_open_another_units_cell_or_trend(reporter):
    cell = reverse("stat_cell", args=["department"])

    assert reporter.get(cell, {**RANGE, "unit": "D02", "column": 7}).status_code == 404
    assert reporter.get(cell, {**RANGE, "unit": "C01", "column": 1}).status_code == 404
    assert reporter.get(reverse("stat_unit", args=["D02"])).status_code == 404
    assert reporter.get(cell, {**RANGE, "unit": "D01", "column": 1}).status_code == 200


def test_unit_reporter_exports_only_their_own_row(reporter):
    response = reporter.get(reverse("stat_table_export", args=["department"]), {**RANGE, "format": "json"})

    payload = json.loads(response.content)
    assert [r["unit"] for r in payload["rows"]] == ["D01"]
    assert payload["totals"]["总计"] == 10


def test_cell_page_lists_the_records_of_accepted_months_only(office):
    response = office.get(reverse("stat_cell", args=["county_park"]), {**RANGE, "unit": "C01", "column": 4})

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="cell-total">6<' in content
    assert response.context["page"].paginator.count == 6  # March (submitted only) is not behind the cell
    assert [m.report.period.month for m in response.context["months"]] == [1, 2]
    assert [m.values for m in response.context["months"]] == [[3, 2], [1, 0]]
    assert "行政许可" in content and "行政处罚" in content


def test_cell_page_of_a_count_category_shows_the_monthly_counts(office):
    response = office.get(reverse("stat_cell", args=["county_park"]), {**RANGE, "unit": "C01", "column": 8})

    assert response.status_code == 200
    assert response.context["page"] is None
    assert [(m.report.period.month, m.values) for m in response.context["months"]] == [(1, [0]), (2, [7])]
    assert 'id="cell-total">7<' in response.content.decode()


def test_cell_page_of_the_monthly_reports_column_lists_the_accepted_months(office):
    response = office.get(reverse("stat_cell", args=["county_park"]), {**RANGE, "unit": "C01", "column": 10})

    assert [m.report.period.month for m in response.context["months"]] == [1, 2]
    assert 'id="cell-total">2<' in response.content.decode()


def test_cell_page_of_the_row_total_covers_every_category_column(office):
    response = office.get(reverse("stat_cell", args=["department"]), {**RANGE, "unit": "D01", "column": 17})

    assert 'id="cell-total">10<' in response.content.decode()
    assert response.context["page"].paginator.count == 10


def test_cell_page_masks_id_numbers_for_unit_users_only(client, dataset):
    params = {**RANGE, "unit": "C01", "column": 2}  # 信用承诺书: subject records with 证件号码
    client.force_login(dataset["county"])
    unit_view = client.get(reverse("stat_cell", args=["county_park"]), params).content.decode()
    client.force_login(dataset["office"])
    office_view = client.get(reverse("stat_cell", args=["county_park"]), params).content.decode()

    assert data.ID_NUMBER not in unit_view
    assert "110105********002X" in unit_view
    assert data.ID_NUMBER in office_view


def test_cell_page_paginates_fifty_records(office, monkeypatch):
    monkeypatch.setattr("rankings.views.RECORDS_PER_PAGE", 4)

    response = office.get(reverse("stat_cell", args=["county_park"]), {**RANGE, "unit": "C01", "column": 4, "page": 2})

    assert response.context["page"].number == 2
    assert len(response.context["records"]) == 2


def test_unknown_table_column_or_unit_is_404(office):
    cell = reverse("stat_cell", args=["county_park"])

    assert office.get(table_url("nope")).status_code == 404
    assert office.get(cell, {"unit": "C01", "column": 99}).status_code == 404
    assert office.get(cell, {"unit": "C01", "column": "x"}).status_code == 404
    assert office.get(cell, {"unit": "ZZZ", "column": 1}).status_code == 404
    assert office.get(cell, {"unit": "D01", "column": 1}).status_code == 404  # not in this table


def test_unit_page_shows_the_monthly_trend(office):
    response = office.get(reverse("stat_unit", args=["C01"]), {"year": data.YEAR})

    assert response.status_code == 200
    trends = {t["table"].code: t for t in response.context["trends"]}
    assert set(trends) == {"county_park", "department"}
    chart = json.loads(re.search(
        r'<script id="trend-county_park" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )[1])
    series = {s["name"]: s["data"] for s in chart["series"]}
    assert series["“双公示”报送"][:3] == [5, 1, 0]
    assert series["合计"][:3] == [5 + 4 + 5, 1 + 7, 0]
    assert len(chart["months"]) == 12


def test_reporter_sees_their_own_unit_page(reporter):
    response = reporter.get(reverse("stat_unit", args=["D01"]))

    assert response.status_code == 200
    assert [t["table"].code for t in response.context["trends"]] == ["department"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_export_downloads_carry_the_page_numbers(office, fmt):
    response = office.get(reverse("stat_table_export", args=["department"]), {**RANGE, "format": fmt})

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert f".{fmt}" in response["Content-Disposition"]
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        d01 = next(row for row in sheet.iter_rows(values_only=True) if row[1] == "市审批局")
        assert d01[2] == 5 and d01[-1] == 10
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert next(r for r in rows if r[1] == "D01")[-1] == "10"
    else:
        assert json.loads(response.content)["totals"]["总计"] == 21


def test_table_page_links_to_exports_with_the_same_range(office):
    response = office.get(table_url(), {"year": data.YEAR, "from": 2, "through": 3})

    content = response.content.decode().replace("&amp;", "&")
    assert reverse("stat_table_export", args=["department"]) + "?year=2019&from=2&through=3&format=xlsx" in content


def test_table_page_answers_format_parameter_too(office):
    response = office.get(table_url(), {**RANGE, "format": "csv"})

    assert response.content.startswith(b"\xef\xbb\xbf")


def test_table_page_does_not_read_the_records(office, django_assert_max_num_queries):
    # 14: the page's own, the reports submitted in the range ("从未上报", awaiting review) and the navbar's unread count.
    with django_assert_max_num_queries(14) as queries:
        office.get(table_url(), RANGE)

    assert not any("reporting_record" in q["sql"] for q in queries.captured_queries)
