"""The rankings pages: a group's ranking, one unit's ranks and trend; scoping, weights and chart data."""

import json
import re

import pytest
from django.urls import reverse

from rankings.indicators import group_ranking
from rankings.models import IndicatorWeight

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset

RANGE = {"year": data.YEAR, "from": 1, "through": 3}
COUNTIES = ["C01", "C02", "C03", "C04", "C05", "C06"]


def unit_rows(response):
    return re.findall(r'<tr data-unit="([^"]+)"', response.content.decode())


def json_script(response, element_id):
    html = response.content.decode()
    return json.loads(re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)[1])


def row_html(response, unit):
    return re.search(rf'<tr data-unit="{unit}".*?</tr>', response.content.decode(), re.S)[0]


@pytest.fixture
def office(client, dataset):
    client.force_login(dataset["office"])
    return client


@pytest.fixture
def county_reporter(client, dataset):
    """The C01 reporter (鲅鱼圈)."""
    client.force_login(dataset["county"])
    return client


def test_anonymous_users_are_sent_to_login(client, dataset):
    for url in (reverse("rankings"), reverse("rankings", args=["county"]), reverse("unit_ranking", args=["C01"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_office_sees_every_unit_of_the_group_in_score_order(office):
    response = office.get(reverse("rankings", args=["county"]), RANGE)

    assert response.status_code == 200
    expected = group_ranking("county", year=data.YEAR, first=1, last=3)
    assert unit_rows(response) == [row.unit.code for row in expected.rows]
    assert sorted(unit_rows(response)) == COUNTIES
    content = response.content.decode()
    assert "县（市）区共 6 个单位" in content
    assert "园区" in content and "市有关部门" in content  # the other groups' tabs


def test_the_default_group_is_the_counties(office):
    response = office.get(reverse("rankings"), RANGE)

    assert sorted(unit_rows(response)) == COUNTIES


def test_each_group_ranks_its_own_units(office):
    parks = office.get(reverse("rankings", args=["park"]), RANGE)
    departments = office.get(reverse("rankings", args=["department"]), RANGE)

    assert sorted(unit_rows(parks)) == ["P01", "P02", "P03", "P04", "P05"]
    assert len(unit_rows(departments)) == 52
    assert unit_rows(departments)[:2] == ["D01", "D02"]  # the only departments that reported
    assert "行政许可" in departments.content.decode()  # the department table's columns


def test_a_row_shows_rank_score_grade_indicators_and_column_ranks(office):
    expected = group_ranking("county", year=data.YEAR, first=1, last=3)
    c01 = next(row for row in expected.rows if row.unit.code == "C01")

    html = row_html(office.get(reverse("rankings", args=["county"]), RANGE), "C01")

    assert f'<td data-value="{c01.ranks["score"]}" class="rank-no">' in html
    assert f">{c01.score}</td>" in html
    assert f">{c01.grade}</span>" in html
    assert f"{c01.completeness}<small" in html  # 2 of 3 months accepted: March was only submitted
    assert c01.completeness == 66.7
    assert f'{c01.values["“双公示”报送"]}<small class="rank-of">第{c01.ranks["“双公示”报送"]}</small>' in html
    assert reverse("unit_ranking", args=["C01"]) in html


def test_never_reported_units_carry_the_badge(office):
    response = office.get(reverse("rankings", args=["county"]), RANGE)

    assert "从未上报" in row_html(response, "C03")
    assert "从未上报" not in row_html(response, "C01")


@pytest.mark.parametrize(
    ("weights", "through", "unit", "css", "grade"),
    [
        ({"completeness": 1}, 1, "C01", "success", "优秀"),  # January accepted: 100
        ({"completeness": 1, "compliance": 1}, 3, "C01", "primary", "良好"),  # (66.7 + 100) / 2
        ({"completeness": 1}, 3, "C01", "warning", "合格"),  # 2 of 3 months: 66.7
        ({"completeness": 1}, 3, "C03", "danger", "不合格"),
    ],
)
def test_grades_are_coloured_badges(office, weights, through, unit, css, grade):
    IndicatorWeight.objects.update(weight=0)
    for code, weight in weights.items():
        IndicatorWeight.objects.filter(code=code).update(weight=weight)

    response = office.get(reverse("rankings", args=["county"]), {**RANGE, "through": through})

    assert f'<span class="badge text-bg-{css} grade-badge">{grade}</span>' in row_html(response, unit)


def test_weights_in_force_are_shown_next_to_the_scores(office):
    IndicatorWeight.objects.filter(code="volume").update(weight=40)

    content = office.get(reverse("rankings", args=["county"]), RANGE).content.decode()

    weights = dict(re.findall(r'<td data-weight="([^"]+)">(\d+)</td>', content))
    assert weights == {"报送完整率": "30", "按时报送率": "20", "双公示及时率": "20", "合规率": "15", "报送量": "40"}
    assert "评分权重" in content
    assert 'title="报送完整率 30，按时报送率 20，双公示及时率 20，合规率 15，报送量 40"' in content


def test_changing_a_weight_changes_the_score_on_the_page(office):
    before = row_html(office.get(reverse("rankings", args=["county"]), RANGE), "C01")
    IndicatorWeight.objects.update(weight=0)
    IndicatorWeight.objects.filter(code="completeness").update(weight=1)

    after = row_html(office.get(reverse("rankings", args=["county"]), RANGE), "C01")

    assert ">66.7</td>" in after
    assert ">66.7</td>" not in before


def test_chart_data_has_the_score_first_then_every_indicator_and_column(office):
    response = office.get(reverse("rankings", args=["county"]), RANGE)

    chart = json_script(response, "rank-chart-data")
    expected = group_ranking("county", year=data.YEAR, first=1, last=3)
    assert chart["units"] == [row.unit.short_name for row in expected.rows]
    labels = [series["label"] for series in chart["series"]]
    assert labels[:6] == ["综合得分", "报送完整率", "按时报送率", "双公示及时率", "合规率", "报送量"]
    assert labels[6:] == expected.columns
    assert chart["series"][0]["values"] == [row.score for row in expected.rows]
    disclosure = chart["series"][3]["values"]
    assert disclosure == [row.disclosure_rate for row in expected.rows]
    assert None in disclosure  # units without 双公示 records have no rate, not 0


def test_the_table_is_sortable_on_the_client(office):
    content = office.get(reverse("rankings", args=["county"]), RANGE).content.decode()

    assert 'id="rank-table" data-sortable' in content
    assert "js/table-sort.js" in content
    assert content.count('data-sort-type="number"') == 3 + 5 + 10  # rank, score, grade; indicators; columns


def test_an_unknown_group_is_not_found(office):
    assert office.get(reverse("rankings", args=["nonsense"])).status_code == 404


def test_no_calendar_warning_when_every_date_is_known(office):
    assert 'id="calendar-warning"' not in office.get(reverse("rankings", args=["county"]), RANGE).content.decode()


# --- a unit's reporter ---------------------------------------------------------------------


def test_unit_reporter_sees_only_their_own_row_with_its_rank_in_the_whole_group(county_reporter):
    response = county_reporter.get(reverse("rankings", args=["county"]), RANGE)

    assert response.status_code == 200
    assert unit_rows(response) == ["C01"]
    expected = group_ranking("county", year=data.YEAR, first=1, last=3)
    c01 = next(row for row in expected.rows if row.unit.code == "C01")
    html = row_html(response, "C01")
    assert f'class="rank-no">{c01.ranks["score"]}</td>' in html
    assert f">{c01.score}</td>" in html
    content = response.content.decode()
    assert "共 6 个单位" in content
    for other in ("大石桥市", "盖州市", "老边区", "站前区", "西市区"):
        assert other not in content
    chart = json_script(response, "rank-chart-data")
    assert chart["units"] == ["鲅鱼圈"]
    assert all(len(series["values"]) == 1 for series in chart["series"])
    assert 'id="group-tabs"' not in content


def test_unit_reporter_is_sent_to_their_own_group(county_reporter, dataset, client):
    response = county_reporter.get(reverse("rankings", args=["department"]), RANGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("rankings", args=["county"]) + "?")
    assert "through=3" in response["Location"]
    assert county_reporter.get(reverse("rankings")).status_code == 302

    client.force_login(dataset["dept"])
    assert unit_rows(client.get(reverse("rankings", args=["department"]), RANGE)) == ["D01"]


def test_weights_are_shown_to_unit_reporters_too(county_reporter):
    content = county_reporter.get(reverse("rankings", args=["county"]), RANGE).content.decode()

    assert re.findall(r'<td data-weight="([^"]+)">(\d+)</td>', content)[0] == ("报送完整率", "30")


# --- one unit's page ---------------------------------------------------------------------


def test_unit_page_shows_its_ranks_score_weights_and_monthly_trend(office):
    response = office.get(reverse("unit_ranking", args=["C01"]), RANGE)

    assert response.status_code == 200
    content = response.content.decode()
    expected = group_ranking("county", year=data.YEAR, first=1, last=3)
    c01 = next(row for row in expected.rows if row.unit.code == "C01")
    assert f'<span class="unit-score">{c01.score}</span>' in content
    assert f"组内第 <strong>{c01.ranks['score']}</strong> 名 / 共 6 个单位" in content
    assert 'data-weight="报送完整率">30<' in content
    assert "已通过 2 个月 / 应报 3 个月" in content
    chart = json_script(response, "unit-trend-data")
    assert chart["months"] == ["1月", "2月", "3月"]
    total = chart["series"][0]
    assert total["name"] == "合计"
    # January: 4 commitments, 5 unresolved, 3 + 2 双公示; February: 1 licence, 7 interviews; March not accepted.
    assert total["data"] == [14, 8, 0]
    months = re.search(r'<table[^>]*id="unit-months".*?</table>', content, re.S)[0]
    assert months.count("已通过") == 2
    assert "已提交未通过" in months


def test_unit_reporter_sees_their_own_unit_page(county_reporter):
    assert county_reporter.get(reverse("unit_ranking", args=["C01"]), RANGE).status_code == 200


def test_unit_reporter_cannot_see_another_units_page(county_reporter, dataset, client):
    assert county_reporter.get(reverse("unit_ranking", args=["C02"]), RANGE).status_code == 404
    assert county_reporter.get(reverse("unit_ranking", args=["D01"]), RANGE).status_code == 404
    client.force_login(dataset["dept"])
    assert client.get(reverse("unit_ranking", args=["C01"]), RANGE).status_code == 404


def test_unit_page_of_an_unknown_unit_is_not_found(office):
    assert office.get(reverse("unit_ranking", args=["X99"])).status_code == 404


# --- admin ----------------------------------------------------------------------------------


def test_admin_edits_the_weights(client, dataset):
    client.force_login(dataset["office"].__class__.objects.get(username="admin"))

    response = client.get(reverse("admin:rankings_indicatorweight_changelist"))

    assert response.status_code == 200
    assert "报送完整率" in response.content.decode()
