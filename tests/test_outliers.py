"""Unusual counts: far outside the unit's usual range (over 5x or under 1/5 of its median of the past year,
and at least 10 away from it) is flagged on the review page and in the queue, and confirmed on submit."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting import outliers, services
from reporting.models import AuditEvent, Category, MonthlyReport, ReportEntry, ReportStatus, Unit

from .factories import period

pytestmark = pytest.mark.django_db

LICENSES = "admin_license"


AUGUST = period()


def history(unit_code, category_code, values, *, status=ReportStatus.ACCEPTED, last=AUGUST):
    """Months before `last`, oldest first, with these values for the category (None: untouched)."""
    unit = Unit.objects.get(code=unit_code)
    for back, value in enumerate(reversed(values), start=1):
        month = outliers.months_before(last, back)
        report = services.report_get_or_create(unit=unit, period=month)
        set_value(report, category_code, value)
        MonthlyReport.objects.filter(pk=report.pk).update(status=status)


def set_value(report, category_code, value):
    """Test data straight into the entry: what an upload or a count would leave there."""
    entry = ReportEntry.objects.get(report=report, category__code=category_code)
    if value is None:
        return
    if entry.category.is_records:
        ReportEntry.objects.filter(pk=entry.pk).update(record_count=value, is_nil=value == 0)
    else:
        ReportEntry.objects.filter(pk=entry.pk).update(count=value)


@pytest.fixture
def august(users):
    report = services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period())
    return services.report_grant_exception(report=report, user=None,
                                           until=timezone.localdate() + datetime.timedelta(days=30))


def codes(found):
    return [(o.category.code, o.value, o.median) for o in found]


# --- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, median, flagged", [
    (24000, 30, True),
    (151, 30, True),
    (150, 30, False),   # exactly 5x is still usual
    (5, 30, True),
    (6, 30, False),
    (0, 30, True),      # a nil from a unit that usually sends 30
    (0, 8, False),      # too close to matter
    (9, 0, False),
    (10, 0, True),
    (3, 0.5, False),
])
def test_the_rule(value, median, flagged):
    assert outliers.is_outlier(value, median) is flagged


# --- against the unit's own history ------------------------------------------------------------


def test_24000_licences_from_a_unit_that_usually_sends_30_is_flagged(august):
    history("D01", LICENSES, [28, 30, 31, 30, 35, 29, 30])
    set_value(august, LICENSES, 24000)
    found = outliers.report_outliers(august)
    assert codes(found) == [(LICENSES, 24000, 30)]
    assert found[0].is_high
    assert found[0].message == "行政许可：本月 24000 条，远高于本单位过去一年已报送的 7 个月的中位数 30 条，约为其 800 倍"


def test_a_usual_month_is_not_flagged(august):
    history("D01", LICENSES, [28, 30, 31, 30, 35, 29, 30])
    set_value(august, LICENSES, 41)
    assert outliers.report_outliers(august) == []


def test_an_untouched_category_counts_as_nil_only_when_about_to_submit(august):
    history("D01", LICENSES, [28, 30, 31, 30])
    assert outliers.report_outliers(august) == []
    found = outliers.report_outliers(august, untouched_as_nil=True)
    assert codes(found) == [(LICENSES, 0, 30)] and not found[0].is_high


def test_too_short_a_history_has_no_usual_range(august):
    history("D01", LICENSES, [30, 30])
    set_value(august, LICENSES, 24000)
    assert outliers.report_outliers(august) == []


def test_only_the_past_twelve_submitted_months_count(august):
    # 13 months back is out of the window; untouched months and months still in draft are not a usual range.
    history("D01", LICENSES, [5000] + [None] * 6 + [24000] * 3 + [30, 30, 30])
    drafts = [outliers.months_before(period(), back) for back in (4, 5, 6)]
    MonthlyReport.objects.filter(unit__code="D01", period__in=drafts).update(status=ReportStatus.DRAFT)
    set_value(august, LICENSES, 24000)
    assert codes(outliers.report_outliers(august)) == [(LICENSES, 24000, 30)]


def test_count_categories_are_compared_too(users):
    history("C01", "dishonest_rep_interviews", [2, 3, 2, 4, 3])
    report = services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=period())
    services.count_set(report=report, category=Category.objects.get(code="dishonest_rep_interviews"), count=300,
                       user=None)
    assert codes(outliers.report_outliers(report)) == [("dishonest_rep_interviews", 300, 3)]


# --- where the reviewer and the clerk see them ---------------------------------------------------


@pytest.fixture
def unusual_submitted(august):
    history("D01", LICENSES, [28, 30, 31, 30, 35, 29, 30])
    set_value(august, LICENSES, 24000)
    return services.report_submit(report=august, user=None, confirm_nil=True)


def test_review_page_flags_the_unusual_category(client, users, unusual_submitted):
    client.force_login(users["office"])
    page = client.get(unusual_submitted.get_absolute_url()).content.decode()
    assert 'id="outliers"' in page and "远高于本单位过去一年已报送的 7 个月的中位数 30 条" in page
    row = page[page.index('id="cat-admin_license"'):page.index('id="cat-admin_penalty"')]
    assert "outlier-badge" in row and "远高于以往" in row


def test_review_queue_flags_the_report(client, users, unusual_submitted):
    client.force_login(users["office"])
    page = client.get(reverse("review_queue")).content.decode()
    row = page[page.index('data-unit="D01"'):]
    row = row[:row.index("</tr>")]
    assert "数量异常" in row and "行政许可" in row


def test_usual_reports_carry_no_flag_in_the_queue(client, users, august):
    history("D01", LICENSES, [28, 30, 31, 30, 35, 29, 30])
    set_value(august, LICENSES, 30)
    services.report_submit(report=august, user=None, confirm_nil=True)
    client.force_login(users["office"])
    page = client.get(reverse("review_queue")).content.decode()
    assert 'data-unit="D01"' in page and "数量异常" not in page


def test_clerk_must_confirm_unusual_counts_before_submitting(client, users, august):
    history("D01", LICENSES, [28, 30, 31, 30, 35, 29, 30])
    set_value(august, LICENSES, 24000)
    client.force_login(users["dept"])
    submit = reverse("report_submit", args=["D01", "2019-08"])

    page = client.post(submit).content.decode()
    assert 'name="confirm_outliers"' in page and "本月 24000 条" in page

    page = client.post(submit, {"confirm_nil": "1"}).content.decode()  # the box left unticked
    assert "请先核对以上数量并勾选确认" in page
    august.refresh_from_db()
    assert august.status == ReportStatus.DRAFT

    client.post(submit, {"confirm_nil": "1", "confirm_outliers": "1"})
    august.refresh_from_db()
    assert august.status == ReportStatus.SUBMITTED
    event = AuditEvent.objects.get(report=august, action=AuditEvent.Action.SUBMITTED)
    assert event.message.startswith("提交时确认数量无误：行政许可：本月 24000 条")


def test_outlier_pages_write_nothing(client, users, unusual_submitted):
    client.force_login(users["office"])
    before = (AuditEvent.objects.count(), ReportEntry.objects.count(), MonthlyReport.objects.count())
    client.get(reverse("review_queue"))
    client.get(unusual_submitted.get_absolute_url())
    assert (AuditEvent.objects.count(), ReportEntry.objects.count(), MonthlyReport.objects.count()) == before
