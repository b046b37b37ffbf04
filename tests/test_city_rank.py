"""The city's national monitoring rank: entered by the office, read by everyone, charted with the target."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from rankings.models import CityRank

URL = reverse("city_rank")


def entry(month="2019-08", rank=62, total_cities=261, target_rank=50, note=""):
    return {"month": month, "rank": rank, "total_cities": total_cities, "target_rank": target_rank, "note": note}


def chart_data(response):
    html = response.content.decode()
    return json.loads(re.search(r'<script id="city-rank-data" type="application/json">(.*?)</script>', html, re.S)[1])


@pytest.fixture
def office(client, users):
    client.force_login(users["office"])
    return client


@pytest.fixture
def reporter(client, users):
    client.force_login(users["county"])
    return client


@pytest.fixture
def ranks(db):
    for month, rank in ((7, 71), (5, 88), (6, 75)):
        CityRank.objects.create(period=datetime.date(2019, month, 1), rank=rank, total_cities=261, target_rank=50)


def test_anonymous_users_are_sent_to_login(client, db):
    for response in (client.get(URL), client.post(URL, entry())):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert not CityRank.objects.exists()


def test_office_enters_a_month(office):
    response = office.post(URL, entry(note="较上月上升9位"))

    assert response.status_code == 302
    saved = CityRank.objects.get()
    assert (saved.period, saved.rank, saved.total_cities, saved.target_rank, saved.note) == (
        datetime.date(2019, 8, 1), 62, 261, 50, "较上月上升9位"
    )
    page = office.get(URL).content.decode()
    assert "已保存 2019年08月 的城市信用监测排名：第62名。" in page
    assert '<tr data-month="2019-08">' in page


def test_entering_a_month_again_corrects_it(office, ranks):
    office.post(URL, entry(month="2019-07", rank=64, note="更正"))

    assert CityRank.objects.count() == 3
    corrected = CityRank.objects.get(period=datetime.date(2019, 7, 1))
    assert (corrected.rank, corrected.note) == (64, "更正")


def test_edit_link_fills_the_form_with_the_months_entry(office, ranks):
    content = office.get(URL, {"month": "2019-06"}).content.decode()

    assert "修改 2019年6月 的排名" in content
    assert 'value="2019-06"' in content
    assert 'value="75"' in content


def test_new_entry_form_proposes_the_latest_target_and_city_count(office, ranks):
    content = office.get(URL).content.decode()

    assert "录入月度排名" in content
    assert re.search(r'name="target_rank" id="id_target_rank"\s+value="50"', content)
    assert re.search(r'name="total_cities" id="id_total_cities"\s+value="261"', content)
    assert re.search(r'name="month" id="id_month"\s+value="2019-08"', content)  # the month after the latest


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (entry(rank=262), "rank", "排名（第262名）不能大于参评城市数（261个）。"),
        (entry(target_rank=300), "target_rank", "目标名次（前300名）不能大于参评城市数（261个）。"),
        (entry(rank=0), "rank", "排名应为不小于 1 的整数。"),
        (entry(rank="六十"), "rank", "排名应为整数。"),
        (entry(rank=""), "rank", "请填写排名。"),
        (entry(total_cities=""), "total_cities", "请填写参评城市数。"),
        (entry(month="2019/8"), "month", "请按 YYYY-MM 格式填写月份，如 2019-08。"),
        (entry(month="2019-13"), "month", "请按 YYYY-MM 格式填写月份，如 2019-08。"),
        (entry(month=""), "month", "请填写月份。"),
        (entry(month="2099-01"), "month", "不能填写未来月份的排名。"),
    ],
)
def test_entry_is_validated_with_chinese_messages(office, data, field, message):
    response = office.post(URL, data)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    assert not CityRank.objects.exists()


def test_chart_data_is_in_month_order_with_the_latest_target(office, ranks):
    CityRank.objects.create(period=datetime.date(2019, 8, 1), rank=45, total_cities=262, target_rank=40)

    chart = chart_data(office.get(URL))

    assert chart["months"] == ["2019-05", "2019-06", "2019-07", "2019-08"]
    assert chart["ranks"] == [88, 75, 71, 45]
    assert chart["totals"] == [261, 261, 261, 262]
    assert chart["targets"] == [50, 50, 50, 40]
    assert chart["target"] == 40
    assert chart["target_label"] == "目标：前40名"


def test_page_lists_the_newest_month_first_and_marks_the_target(office, ranks):
    CityRank.objects.create(period=datetime.date(2019, 8, 1), rank=45, total_cities=261, target_rank=50)

    content = office.get(URL).content.decode()

    assert re.findall(r'<tr data-month="([^"]+)">', content) == ["2019-08", "2019-07", "2019-06", "2019-05"]
    assert "2019年8月：全国第 <strong>45</strong> 名" in content
    assert "达到目标" in content


def test_unit_reporters_read_but_cannot_enter(reporter, ranks):
    response = reporter.get(URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert '<tr data-month="2019-07">' in content
    assert 'id="city-rank-form"' not in content
    assert "编辑" not in content
    assert chart_data(response)["ranks"] == [88, 75, 71]

    assert reporter.post(URL, entry()).status_code == 403
    assert CityRank.objects.count() == 3


def test_empty_page_says_nothing_is_entered_yet(office):
    response = office.get(URL)

    assert "还没有录入任何月份的排名。" in response.content.decode()
    assert chart_data(response)["months"] == []


def test_admin_lists_and_validates_city_ranks(client, users, ranks):
    client.force_login(users["admin"])

    assert client.get(reverse("admin:rankings_cityrank_changelist")).status_code == 200
    response = client.post(reverse("admin:rankings_cityrank_add"), {
        "period": "2019-08-15", "rank": 300, "total_cities": 261, "target_rank": 50, "note": "",
    })
    assert response.status_code == 200
    assert "排名不能大于参评城市数。" in response.content.decode()
    client.post(reverse("admin:rankings_cityrank_add"), {
        "period": "2019-08-15", "rank": 60, "total_cities": 261, "target_rank": 50, "note": "",
    })
    assert CityRank.objects.filter(period=datetime.date(2019, 8, 1), rank=60).exists()
