"""Working days on the official Chinese calendar (statutory holidays and adjusted workdays).

双公示 timeliness: a license or penalty must be reported within 7 working days
of its decision date (发改办财金〔2018〕424号).  The chinese-calendar package
knows the State Council's schedule for the years it ships; for a date outside
them we say so instead of guessing.
"""

import datetime
import functools

import chinese_calendar

DISCLOSURE_WORKDAYS = 7


class CalendarUnknown(Exception):
    """The holiday schedule of this year is not known (not yet published or not in the package)."""


@functools.lru_cache(maxsize=8192)
def is_workday(day):
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarUnknown(
            f"节假日安排数据不包含 {day.year} 年（chinese-calendar 支持的年份之外），无法判断是否为工作日"
        ) from None


def workdays_after(start, end):
    """Working days in (start, end]: the day of the decision itself is not counted."""
    if end <= start:
        return 0
    count = 0
    day = start
    one = datetime.timedelta(days=1)
    while day < end:
        day += one
        if is_workday(day):
            count += 1
    return count


@functools.lru_cache(maxsize=65536)
def reported_in_time(decision, reported, limit=DISCLOSURE_WORKDAYS):
    """True if `reported` is no more than `limit` working days after `decision`.

    Raises CalendarUnknown when a day in between lies outside the calendar's data.
    """
    return workdays_after(decision, reported) <= limit


def calendar_years():
    """The years whose holiday schedule the installed calendar knows."""
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return years[0], years[-1]
