"""Honest wording: "从未上报" only for units that submitted nothing; reports awaiting review are counted and
stated (generate form, statistics pages, the 情况通报 itself); rates count only months that were due; charts
draw no month that has not come.

On stats_dataset (2019-01..03): C01's March is submitted and not reviewed; P02 sent an all-nil January.
"""

import datetime
import json
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from bulletins import services as bulletins
from bulletins.models import Section
from rankings.indicators import group_ranking
from rankings.models import StatTable
from rankings.selectors import table_compute
from rankings.services import stats_rebuild
from reporting import services
from reporting.models import Unit

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
RANGE = {"year": 2019, "from": 1, "through": 3}


def submit_only(code, month, year=2019):
    report = services.report_get_or_create(unit=Unit.objects.get(code=code), period=datetime.date(year, month, 1))
    return services.report_submit(report=report, user=None, confirm_nil=True)


def rows_by_unit(code="county_park", **kwargs):
    computed = table_compute(StatTable.objects.get(code=code), year=2019, first=1, last=3, **kwargs)
    return computed, {r.unit.code: r for r in computed.rows}


def status_paragraphs(bulletin):
    return bulletin.articles.get(section=Section.STATUS, generated=True).body.split("\n\n")


def json_script(response, element_id):
    html = response.content.decode()
    return json.loads(re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)[1])


@pytest.fixture
def pending_only(dataset):
    """C03 submits February (never reviewed): its only report.  Statistics rebuilt."""
    submit_only("C03", 2)
    stats_rebuild()
    return dataset


# --- the tables ------------------------------------------------------------------------------------


def test_a_unit_with_only_pending_reports_is_not_never_reported(pending_only):
    computed, rows = rows_by_unit()
    assert rows["C03"].never_reported is False and rows["C03"].pending == 1
    assert rows["C03"].total == 0  # not counted before review
    assert rows["C01"].pending == 1  # its March
    assert rows["C04"].never_reported is True and rows["C04"].pending == 0
    assert computed.pending == 2


def test_a_unit_that_reported_only_nil_categories_has_reported(dataset):
    _, rows = rows_by_unit()
    assert rows["P02"].never_reported is False and rows["P02"].total == 0


def test_a_units_own_view_counts_only_its_pending_reports(pending_only):
    computed, _ = rows_by_unit(units=[Unit.objects.get(code="C03")])
    assert computed.pending == 1


# --- the 情况通报 -------------------------------------------------------------------------------------


def test_status_notice_states_the_pending_reports_and_does_not_call_their_units_silent(pending_only):
    bulletin = bulletins.bulletin_create(year=2019, number=5, user=None)
    bulletin = bulletins.bulletin_generate(bulletin=bulletin, year=2019, first=1, last=3, user=None)
    paragraphs = status_paragraphs(bulletin)
    assert paragraphs[-1] == ("另有2份2019年1—3月的月度报表已提交、尚待审核，审核通过前未计入本通报的统计数据，"
                              "涉及鲅鱼圈、盖州市，共2个单位。")
    silent = next(p for p in paragraphs if "从未上报过任何信用信息数据的单位有" in p)
    named = set(silent.split("：", 1)[1].split("，")[0].split("、"))
    assert "盖州市" not in named and "沿海产业基地" not in named  # C03 pending, P02 all nil
    assert "老边区" in named
    assert f"（另有2份已提交的月度报表尚待审核，未计入），但仍有{len(named)}个单位" in paragraphs[0]
    assert bulletin.snapshot["pending"] == 2


def test_status_notice_without_pending_reports_says_nothing_about_them(dataset):
    bulletin = bulletins.bulletin_create(year=2019, number=6, user=None)
    bulletin = bulletins.bulletin_generate(bulletin=bulletin, year=2019, first=1, last=2, user=None)
    assert not any("尚待审核" in p for p in status_paragraphs(bulletin))
    assert bulletin.snapshot["pending"] == 0


def test_generate_form_warns_of_reports_awaiting_review(client, pending_only):
    bulletin = bulletins.bulletin_create(year=2019, number=5, user=None)
    bulletins.bulletin_generate(bulletin=bulletin, year=2019, first=1, last=3, user=None)
    client.force_login(pending_only["office"])
    text = client.get(reverse("bulletin_edit", args=[2019, 5])).content.decode()
    note = text[text.index('id="generate-pending"'):]
    note = note[:note.index("</div>")]
    assert "2019年1—3月有 2 份月度报表已提交、尚待审核" in note and "鲅鱼圈、盖州市" in note
    assert "全部待审核 2 份" in note


def test_generating_with_pending_reports_warns_the_office(client, pending_only):
    bulletins.bulletin_create(year=2019, number=5, user=None)
    client.force_login(pending_only["office"])
    response = client.post(reverse("bulletin_generate", args=[2019, 5]),
                           {"year": 2019, "from": 1, "through": 3}, follow=True)
    assert "另有 2 份月度报表已提交、尚待审核，未计入本期统计" in response.content.decode()


# --- statistics pages ----------------------------------------------------------------------------------


def test_table_page_states_the_pending_reports(client, pending_only):
    client.force_login(pending_only["office"])
    text = client.get(reverse("stat_table", args=["county_park"]), RANGE).content.decode()
    assert "所选期间另有 <strong>2</strong> 份月度报表已提交、尚待审核" in text
    row = re.search(r'<tr data-unit="C03".*?</tr>', text, re.S)[0]
    assert "1 份待审核" in row and "从未上报" not in row
    assert "从未上报" in re.search(r'<tr data-unit="C04".*?</tr>', text, re.S)[0]


def test_a_unit_sees_only_its_own_pending_count(client, pending_only):
    client.force_login(pending_only["county"])  # C01
    text = client.get(reverse("stat_table", args=["county_park"]), RANGE).content.decode()
    assert "所选期间另有 <strong>1</strong> 份" in text


def test_rankings_pages_state_the_pending_reports(client, pending_only):
    client.force_login(pending_only["office"])
    text = client.get(reverse("rankings", args=["county"]), RANGE).content.decode()
    assert 'id="pending-note"' in text and "<strong>2</strong>" in text
    unit = client.get(reverse("unit_ranking", args=["C01"]), RANGE).content.decode()
    assert "<strong>1</strong> 份月度报表已提交、尚待审核" in unit and "1 份待审核" in unit


# --- rates count the months that were due ------------------------------------------------------------


@pytest.fixture
def at(monkeypatch):
    def set_clock(text):
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_clock


def submit_and_accept(code, month, when, at):
    at(when)
    report = services.report_get_or_create(unit=Unit.objects.get(code=code), period=datetime.date(2019, month, 1))
    return services.report_accept(report=services.report_submit(report=report, user=None, confirm_nil=True), user=None)


def test_a_current_month_accepted_on_time_counts_rather_than_zero(dataset, at):
    """On 2019-10-20, C04 has reported only October (this month, due 11-05), on time and accepted."""
    submit_and_accept("C04", 10, "2019-10-20 10:00", at)
    stats_rebuild()
    ranking = group_ranking("county", year=2019, first=1, last=10, today=datetime.date(2019, 10, 20))
    c04 = next(r for r in ranking.rows if r.unit.code == "C04")
    assert (c04.months_accepted, c04.months_on_time, c04.months_due) == (1, 1, 10)  # Jan-Sep due, plus October
    assert c04.completeness == 10.0 and c04.on_time_rate == 10.0
    c05 = next(r for r in ranking.rows if r.unit.code == "C05")
    assert (c05.months_accepted, c05.months_due) == (0, 9)  # October is not due for a unit that has not sent it


def test_an_early_month_counts_only_once_it_was_sent(dataset, at):
    submit_and_accept("C04", 10, "2019-10-20 10:00", at)
    stats_rebuild()
    before = group_ranking("county", year=2019, first=1, last=10, today=datetime.date(2019, 10, 19))
    assert next(r for r in before.rows if r.unit.code == "C04").months_due == 9


def test_unit_ranking_page_explains_the_counted_months(client, dataset, at):
    submit_and_accept("C04", 10, "2019-10-20 10:00", at)
    stats_rebuild()
    client.force_login(dataset["office"])
    text = client.get(reverse("unit_ranking", args=["C04"]), {"year": 2019, "from": 1, "through": 10}).content.decode()
    assert "已通过 1 个月 / 应报 10 个月" in text and "按时报送 1 个月 / 应报 10 个月" in text


# --- charts draw no month that has not come --------------------------------------------------------------


def test_trend_charts_stop_at_this_month(client, dataset):
    this_year, this_month = timezone.localdate().year, timezone.localdate().month
    submit_only("C04", this_month, year=this_year)
    client.force_login(dataset["office"])
    response = client.get(reverse("unit_ranking", args=["C04"]), {"year": this_year, "from": 1, "through": 12})
    chart = json_script(response, "unit-trend-data")
    assert chart["months"] == [f"{m}月" for m in range(1, this_month + 1)]
    assert all(len(s["data"]) == this_month for s in chart["series"])
    table = re.search(r'id="unit-months".*?</table>', response.content.decode(), re.S)[0]
    assert table.count("尚未到来") == 12 - this_month

    response = client.get(reverse("stat_unit", args=["C04"]), {"year": this_year})
    trend = response.context["trends"][0]["chart"]
    assert len(trend["months"]) == this_month and all(len(s["data"]) == this_month for s in trend["series"])


def test_a_past_year_draws_all_twelve_months(client, dataset):
    client.force_login(dataset["office"])
    response = client.get(reverse("unit_ranking", args=["C01"]), {"year": 2019, "from": 1, "through": 12})
    assert len(json_script(response, "unit-trend-data")["months"]) == 12


def test_narrative_states_pending_reports_in_the_intro_and_at_the_end():
    from bulletins import narrative

    paragraphs = narrative.compose(year=2019, first=1, last=9, groups=[], departments=[], total=0,
                                   pending=["市审批局", "市审批局", "鲅鱼圈"])
    assert "（另有3份已提交的月度报表尚待审核，未计入）" in paragraphs[0]
    assert paragraphs[-1] == ("另有3份2019年1—9月的月度报表已提交、尚待审核，审核通过前未计入本通报的统计数据，"
                              "涉及市审批局、鲅鱼圈，共2个单位。")
    assert not any("尚待审核" in p for p in narrative.compose(year=2019, first=1, last=9, groups=[],
                                                            departments=[], total=0))
