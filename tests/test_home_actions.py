"""The reporter's home page: its call to action goes to a month the unit can change now; locked months say 查看;
a returned month cannot be missed.  (Deadline the 5th, lock day the 25th of the next month.)"""

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting import services
from reporting.models import Unit

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock(monkeypatch):
    def set_clock(text):
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_clock


@pytest.fixture
def home(client, users):
    client.force_login(users["dept"])

    def get():
        return client.get(reverse("home"), {"year": 2019}).content.decode()

    return get


def report(month):
    return services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=datetime.date(2019, month, 1))


def call_to_action(text):
    block = re.search(r'<div class="alert[^"]*" id="due-now" data-reason="([^"]*)">(.*?)</div>\s*(?:<div|\n\n|$)',
                      text, re.S)
    link = re.search(r'id="due-now".*?<a class="btn[^"]*" href="([^"]+)">([^<]+)</a>', text, re.S)
    return block[1], link[1] if link else None, link[2] if link else None


def month_link(text, month):
    cards = re.findall(r'<span class="fw-semibold">(\d+)月</span>.*?(?:<a class="small stretched-link" href="[^"]+">'
                       r'([^<]+)</a>|</div>\s*</div>\s*</div>)', text, re.S)
    return dict(cards).get(str(month))


def test_before_the_lock_day_the_call_to_action_is_last_month(home, clock):
    clock("2019-10-10 09:00")
    reason, url, label = call_to_action(home())
    assert (reason, url, label) == ("open", reverse("report_detail", args=["D01", "2019-09"]), "去填报")


def test_after_the_lock_day_it_is_this_month_and_last_month_says_view(home, clock):
    clock("2019-10-26 09:00")
    text = home()
    reason, url, label = call_to_action(text)
    assert (reason, url, label) == ("open", reverse("report_detail", args=["D01", "2019-10"]), "去填报")
    assert month_link(text, 9) == "查看"
    assert month_link(text, 10) == "填报"
    assert month_link(text, 1) == "查看"


def test_a_sent_last_month_moves_the_call_to_this_month(home, clock):
    clock("2019-10-03 09:00")
    services.report_submit(report=report(9), user=None, confirm_nil=True)
    reason, url, _ = call_to_action(home())
    assert url == reverse("report_detail", args=["D01", "2019-10"])
    assert month_link(home(), 9) == "查看"


def test_a_returned_month_is_the_call_to_action_with_its_reason(home, clock):
    clock("2019-10-03 09:00")
    submitted = services.report_submit(report=report(9), user=None, confirm_nil=True)
    clock("2019-10-08 09:00")
    services.report_return(report=submitted, user=None, reason="许可少报了 3 条")
    text = home()
    reason, url, label = call_to_action(text)
    assert (reason, url, label) == ("returned", reverse("report_detail", args=["D01", "2019-09"]), "去修改")
    assert "已退回，请修改后重新提交：2019年9月" in text and "退回原因：许可少报了 3 条" in text
    assert 'class="alert alert-danger' in text
    assert "被退回的报表" in text


def test_a_returned_month_past_its_lock_day_is_not_proposed_and_says_so(home, clock):
    clock("2019-10-03 09:00")
    submitted = services.report_submit(report=report(9), user=None, confirm_nil=True)
    services.report_return(report=submitted, user=None, reason="许可少报了 3 条")
    clock("2019-10-28 09:00")
    text = home()
    reason, url, _ = call_to_action(text)
    assert reason == "open" and url == reverse("report_detail", args=["D01", "2019-10"])
    returned = text[text.index('id="returned"'):]
    assert "已过锁定日，如需修改请联系市信用办开通特许修改" in returned and ">查看</a>" in returned


def test_a_special_permission_month_is_proposed(home, clock):
    clock("2019-10-28 09:00")
    services.report_grant_exception(report=report(6), user=None, until=datetime.date(2019, 11, 10))
    text = home()
    reason, url, label = call_to_action(text)
    assert (reason, url, label) == ("exception", reverse("report_detail", args=["D01", "2019-06"]), "去填报")
    assert "特许修改至 2019-11-10" in text
    assert month_link(text, 6) == "填报" and month_link(text, 5) == "查看"


def test_an_accepted_month_says_view(home, clock):
    clock("2019-10-03 09:00")
    services.report_accept(report=services.report_submit(report=report(9), user=None, confirm_nil=True), user=None)
    assert month_link(home(), 9) == "查看"
