"""Working days on the official calendar, and what happens to dates the calendar does not know."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from rankings.indicators import group_ranking
from rankings.models import ReportStat
from rankings.services import stats_rebuild
from rankings.workdays import CalendarUnknown, is_workday, reported_in_time, workdays_after
from reporting import services
from reporting.models import Unit, User

from .factories import records, xlsx_bytes

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def day(text):
    return datetime.date.fromisoformat(text)


# --- the calendar ---------------------------------------------------------------------


def test_spring_festival_2019_is_a_holiday_and_the_weekend_before_it_is_worked():
    assert is_workday(day("2019-02-01")) is True  # Friday
    assert is_workday(day("2019-02-02")) is True  # Saturday, adjusted workday
    assert is_workday(day("2019-02-03")) is True  # Sunday, adjusted workday
    for holiday in ("2019-02-04", "2019-02-05", "2019-02-06", "2019-02-07", "2019-02-08", "2019-02-09", "2019-02-10"):
        assert is_workday(day(holiday)) is False, holiday
    assert is_workday(day("2019-02-11")) is True  # Monday after the holiday


def test_working_days_across_the_spring_festival_count_the_adjusted_weekend_and_skip_the_holiday():
    # (Jan 31, Feb 11]: Feb 1 (Fri), 2 (Sat, worked), 3 (Sun, worked), 11 (Mon) — Feb 4–10 are the holiday.
    assert workdays_after(day("2019-01-31"), day("2019-02-11")) == 4
    # The holiday itself holds no working day.
    assert workdays_after(day("2019-02-03"), day("2019-02-10")) == 0


def test_working_days_across_national_day_2019_count_the_adjusted_sunday_and_saturday():
    assert is_workday(day("2019-09-29")) is True  # Sunday, adjusted workday
    assert is_workday(day("2019-10-12")) is True  # Saturday, adjusted workday
    assert not any(is_workday(day(f"2019-10-0{d}")) for d in range(1, 8))
    # (Sep 28, Oct 8]: Sep 29 (Sun, worked), Sep 30, Oct 8.
    assert workdays_after(day("2019-09-28"), day("2019-10-08")) == 3


def test_the_decision_day_itself_is_not_counted():
    assert workdays_after(day("2019-08-05"), day("2019-08-05")) == 0
    assert workdays_after(day("2019-08-05"), day("2019-08-06")) == 1
    # Reported before the decision (a data error) is not late.
    assert workdays_after(day("2019-08-06"), day("2019-08-05")) == 0


def test_reported_in_time_allows_exactly_seven_working_days_not_eight():
    # Decided Mon 2019-08-05: Aug 6, 7, 8, 9, 12, 13, 14 are the 7 working days after it.
    assert reported_in_time(day("2019-08-05"), day("2019-08-14")) is True
    assert reported_in_time(day("2019-08-05"), day("2019-08-15")) is False


def test_reported_in_time_stretches_over_the_spring_festival():
    # Decided Wed 2019-01-30: Jan 31, Feb 1, 2, 3, 11, 12, 13 — the seventh working day is Feb 13.
    assert reported_in_time(day("2019-01-30"), day("2019-02-13")) is True
    assert reported_in_time(day("2019-01-30"), day("2019-02-14")) is False


def test_reported_in_time_stretches_over_national_day():
    # Decided Sat 2019-09-28: Sep 29 (Sun, worked), 30, Oct 8, 9, 10, 11, 12 (Sat, worked).
    assert reported_in_time(day("2019-09-28"), day("2019-10-12")) is True
    assert reported_in_time(day("2019-09-28"), day("2019-10-14")) is False


def test_a_date_beyond_the_calendar_data_raises_calendar_unknown_in_chinese():
    with pytest.raises(CalendarUnknown, match="节假日安排数据不包含 2099 年"):
        is_workday(day("2099-03-02"))
    with pytest.raises(CalendarUnknown, match="无法判断是否为工作日"):
        reported_in_time(day("2026-12-30"), day("2099-01-10"))


# --- the rollup and the ranking with dates the calendar does not know ---------------------------


@pytest.fixture
def clock(monkeypatch):
    def set_clock(text):
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_clock


@pytest.fixture
def beyond_the_calendar(users, upload, clock, monkeypatch):
    """C01 reports 3 licences decided in December 2026 on 2027-01-12 — a year chinese-calendar 1.11 lacks.

    The calendar's data is pinned to end in 2026 here, so the test keeps its meaning when the package
    learns 2027.
    """
    import chinese_calendar

    real = chinese_calendar.is_workday

    def is_workday_until_2026(date):
        if date.year > 2026:
            raise NotImplementedError(f"no available data for year {date.year}")
        return real(date)

    monkeypatch.setattr(chinese_calendar, "is_workday", is_workday_until_2026)
    is_workday.cache_clear()
    reported_in_time.cache_clear()
    clock("2027-01-12 10:00")
    report = services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=day("2026-12-01"))
    batch = upload(report, "admin_license", xlsx_bytes("license", records("license", 3, decision_date="2026-12-30")))
    assert batch.status == "succeeded", batch.errors[:3]
    services.report_submit(report=report, user=None, confirm_nil=True)
    services.report_accept(report=report, user=None)
    stats_rebuild()
    yield report
    is_workday.cache_clear()
    reported_in_time.cache_clear()


def test_rollup_counts_records_beyond_the_calendar_as_unknown_not_late(beyond_the_calendar):
    stat = ReportStat.objects.get(unit__code="C01", period=day("2026-12-01"))

    assert (stat.disclosure_total, stat.disclosure_timely, stat.disclosure_unknown) == (3, 0, 3)


def test_ranking_warns_about_unknown_dates_and_leaves_them_out_of_the_rate(beyond_the_calendar):
    ranking = group_ranking("county", year=2026, first=12, last=12, today=day("2027-01-12"))

    c01 = next(row for row in ranking.rows if row.unit.code == "C01")
    assert c01.disclosure_rate is None
    assert "有 3 条双公示记录" in ranking.calendar_warning
    assert "超出节假日日历数据范围" in ranking.calendar_warning


def test_rankings_page_shows_the_calendar_warning(beyond_the_calendar, client, users):
    client.force_login(users["office"])

    response = client.get(reverse("rankings", args=["county"]), {"year": 2026, "from": 12, "through": 12})

    assert response.status_code == 200
    content = response.content.decode()
    assert 'class="alert alert-warning' in content
    assert "有 3 条双公示记录的日期超出节假日日历数据范围" in content


def test_a_unit_reporter_is_warned_only_about_their_own_records(beyond_the_calendar, client, users):
    url = reverse("rankings", args=["county"])
    client.force_login(User.objects.get(username="c02"))
    assert "calendar-warning" not in client.get(url, {"year": 2026, "from": 12, "through": 12}).content.decode()

    client.force_login(users["county"])  # C01's reporter
    assert "有 3 条双公示记录" in client.get(url, {"year": 2026, "from": 12, "through": 12}).content.decode()
