"""The operator CLI of the notices app: `remind` and `reporting_rate`, their exact --json contracts."""

import datetime
import io
import json
import zoneinfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from notices.models import Notification, ReminderLog
from reporting import services
from reporting.models import Unit

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def nine_months(users, monkeypatch):
    """2019-01..09.  D01: every month accepted, on time.  D02: Jan-Apr accepted (Apr late), May submitted
    late and not reviewed, Jun returned.  C01: a January draft.  Everyone else: nothing."""
    real_now = timezone.now

    def submit(code, month, day_of_next_month, *, accept=True, ret=False):
        following = datetime.date(2019 + month // 12, month % 12 + 1, day_of_next_month)
        moment = datetime.datetime.combine(following, datetime.time(10), tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        report = services.report_get_or_create(unit=Unit.objects.get(code=code), period=datetime.date(2019, month, 1))
        report = services.report_submit(report=report, user=None, confirm_nil=True)
        if accept:
            services.report_accept(report=report, user=None)
        if ret:
            services.report_return(report=report, user=None, reason="数据不全")
        monkeypatch.setattr(timezone, "now", real_now)

    for month in range(1, 10):
        submit("D01", month, 3)
    for month in range(1, 4):
        submit("D02", month, 4)
    submit("D02", 4, 9)
    submit("D02", 5, 20, accept=False)
    submit("D02", 6, 20, accept=False, ret=True)
    services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=datetime.date(2019, 1, 1))


# --- reporting_rate ---------------------------------------------------------------------------------


def test_reporting_rate_json_contract(nine_months):
    data = last_json(run("reporting_rate", "--year", "2019", "--through", "9", "--json"))
    assert list(data) == ["year", "through", "units", "completeness", "on_time_rate"]
    assert (data["year"], data["through"]) == (2019, 9)
    units = {u["unit"]: u for u in data["units"]}
    assert units["D01"] == {"unit": "D01", "due": 9, "submitted": 9, "accepted": 9, "on_time": 9}
    assert units["D02"] == {"unit": "D02", "due": 9, "submitted": 5, "accepted": 4, "on_time": 3}
    assert units["C01"] == {"unit": "C01", "due": 9, "submitted": 0, "accepted": 0, "on_time": 0}
    assert len(units) == 63
    assert data["completeness"] == round(13 / (63 * 9), 3) == 0.023
    assert data["on_time_rate"] == round(12 / (63 * 9), 3) == 0.021


def test_reporting_rate_lists_units_in_the_offices_order(nine_months):
    codes = [u["unit"] for u in last_json(run("reporting_rate", "--year", "2019", "--through", "9",
                                              "--json"))["units"]]
    assert codes[:2] == ["D01", "D02"] and codes[52] == "C01" and codes[-1] == "P05"


def test_reporting_rate_through_counts_only_those_months(nine_months):
    data = last_json(run("reporting_rate", "--year", "2019", "--through", "3", "--json"))
    units = {u["unit"]: u for u in data["units"]}
    assert units["D02"] == {"unit": "D02", "due": 3, "submitted": 3, "accepted": 3, "on_time": 3}


def test_reporting_rate_table_says_pending_reports_are_not_counted(nine_months):
    out = run("reporting_rate", "--year", "2019", "--through", "9")
    assert "待审核 1（未计入完整率）" in out
    assert "报送完整率 2.3%" in out


def test_reporting_rate_future_months_do_not_count(users):
    year = timezone.localdate().year + 1
    data = last_json(run("reporting_rate", "--year", str(year), "--through", "12", "--json"))
    assert {u["due"] for u in data["units"]} == {0}
    assert data["completeness"] is None and data["on_time_rate"] is None


@pytest.mark.parametrize("args, message", [
    (["--year", "2019", "--through", "13"], "截止月应在 1—12 之间"),
    (["--year", "1999", "--through", "9"], "年份“1999”不合理"),
])
def test_reporting_rate_refuses_bad_arguments(users, args, message):
    with pytest.raises(CommandError, match=message):
        run("reporting_rate", *args)


# --- remind -------------------------------------------------------------------------------------------


def test_remind_json_contract_and_no_second_notice_the_same_day(nine_months):
    data = last_json(run("remind", "--period", "2019-09", "--json"))
    assert list(data) == ["period", "units", "sent"]
    expected = sorted(u.code for u in Unit.objects.exclude(code="D01"))
    assert data == {"period": "2019-09", "units": expected, "sent": 62}
    assert ReminderLog.objects.filter(source="cli", kind="overdue").count() == 62
    again = last_json(run("remind", "--period", "2019-09", "--json"))
    assert again == {"period": "2019-09", "units": [], "sent": 0}
    assert ReminderLog.objects.count() == 62


def test_remind_includes_returned_and_draft_months_and_leaves_out_submitted_and_accepted(nine_months):
    may = last_json(run("remind", "--period", "2019-05", "--json"))["units"]
    june = last_json(run("remind", "--period", "2019-06", "--json"))["units"]
    january = last_json(run("remind", "--period", "2019-01", "--json"))["units"]
    assert "D02" not in may and "D01" not in may
    assert "D02" in june  # returned: not submitted now
    assert "C01" in january and "D01" not in january and "D02" not in january


def test_remind_dry_run_sends_nothing(nine_months):
    out = run("remind", "--period", "2019-09", "--dry-run", "--json")
    data = last_json(out)
    assert len(data["units"]) == 62 and data["sent"] == 0
    assert "试运行，未发送" in out
    assert not ReminderLog.objects.exists() and not Notification.objects.filter(kind="overdue").exists()
    assert last_json(run("remind", "--period", "2019-09", "--json"))["sent"] == 62


def test_remind_prints_chinese_lines(nine_months):
    out = run("remind", "--period", "2019-09")
    assert "2019年9月（截止日 2019-10-05）逾期催报：已发送给 62 个单位" in out
    again = run("remind", "--period", "2019-09")
    assert "没有需要发送的单位" in again and "今天已发送过、未重复发送的单位 62 个" in again


def test_remind_refuses_a_future_month_and_a_bad_period(users):
    future = (timezone.localdate().replace(day=1) + datetime.timedelta(days=40)).strftime("%Y-%m")
    with pytest.raises(CommandError, match="尚未开始，不能催报"):
        run("remind", "--period", future, "--json")
    with pytest.raises(CommandError, match="格式不对"):
        run("remind", "--period", "2019/09")
    assert not ReminderLog.objects.exists()
