"""特许修改: the office lets a unit change a month past its lock day, from the report page, and withdraws it."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting import services
from reporting.models import AuditEvent, Category, MonthlyReport, Unit
from reporting.services import ServiceError

from .factories import period

pytestmark = pytest.mark.django_db

AUG = "2019-08"  # long past its lock day (2019-09-25)
TODAY = timezone.localdate()
NEXT_WEEK = TODAY + datetime.timedelta(days=7)


def exception_url(unit="D01", month=AUG):
    return reverse("report_exception", args=[unit, month])


def count_url(unit="C01", month=AUG):
    return reverse("report_count", args=[unit, month, "gov_dishonesty_unresolved"])


def page_text(client, unit="D01", month=AUG):
    return client.get(reverse("report_detail", args=[unit, month])).content.decode()


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- the services -------------------------------------------------------------------------


def test_office_grants_an_exception_until_a_date_with_a_reason(users, dept_report):
    report = services.report_exception_grant(report=dept_report, user=users["office"], until=NEXT_WEEK,
                                             reason="补报遗漏的行政许可")
    assert report.edit_exception_until == NEXT_WEEK
    (event,) = events(AuditEvent.Action.EXCEPTION)
    assert event.actor == users["office"]
    assert event.message == f"允许单位修改至 {NEXT_WEEK:%Y-%m-%d}。原因：补报遗漏的行政许可"
    assert event.details["reason"] == "补报遗漏的行政许可"
    assert event.details["until"] == NEXT_WEEK.isoformat()


def test_granting_on_a_month_nobody_started_creates_its_report(users):
    unsaved = MonthlyReport(unit=Unit.objects.get(code="D02"), period=period())
    report = services.report_exception_grant(report=unsaved, user=users["office"], until=NEXT_WEEK, reason="补报")
    assert report.pk is not None and report.edit_exception_until == NEXT_WEEK
    actions = list(report.audit_events.order_by("id").values_list("action", flat=True))
    assert actions == ["created", "exception"]
    assert report.entries.count() == Category.objects.for_kind("department").count()


@pytest.mark.parametrize("reason", ["", "   "])
def test_grant_needs_a_reason(users, dept_report, reason):
    with pytest.raises(ServiceError, match="开通特许修改时必须填写原因"):
        services.report_exception_grant(report=dept_report, user=users["office"], until=NEXT_WEEK, reason=reason)
    assert MonthlyReport.objects.get(pk=dept_report.pk).edit_exception_until is None


def test_grant_until_a_past_date_is_refused(users, dept_report):
    with pytest.raises(ServiceError, match="已过，请选择今天或以后的日期"):
        services.report_exception_grant(report=dept_report, user=users["office"],
                                        until=TODAY - datetime.timedelta(days=1), reason="补报")
    assert not events(AuditEvent.Action.EXCEPTION)


def test_office_withdraws_an_exception_and_it_is_audited(users, dept_report):
    services.report_exception_grant(report=dept_report, user=users["office"], until=NEXT_WEEK, reason="补报")
    report = services.report_exception_withdraw(report=dept_report, user=users["office"], reason="已补报完毕")
    assert report.edit_exception_until is None
    assert MonthlyReport.objects.get(pk=dept_report.pk).edit_exception_until is None
    (event,) = events(AuditEvent.Action.EXCEPTION_WITHDRAWN)
    assert event.actor == users["office"]
    assert event.message == f"撤销特许修改（原可修改至 {NEXT_WEEK:%Y-%m-%d}）。原因：已补报完毕"
    assert event.get_action_display() == "撤销特许修改"


def test_withdrawing_when_there_is_no_exception_is_refused(users, dept_report):
    with pytest.raises(ServiceError, match="没有特许修改，无需撤销"):
        services.report_exception_withdraw(report=dept_report, user=users["office"])
    unsaved = MonthlyReport(unit=Unit.objects.get(code="D02"), period=period())
    with pytest.raises(ServiceError, match="没有特许修改"):
        services.report_exception_withdraw(report=unsaved, user=users["office"])
    assert not MonthlyReport.objects.filter(unit__code="D02").exists()


@pytest.mark.parametrize("who", ["dept", "county"])
def test_unit_reporters_can_neither_grant_nor_withdraw(users, dept_report, who):
    with pytest.raises(ServiceError, match="只有信用办审核员可以执行此操作"):
        services.report_exception_grant(report=dept_report, user=users[who], until=NEXT_WEEK, reason="自己开")
    services.report_exception_grant(report=dept_report, user=None, until=NEXT_WEEK, reason="CLI")  # operator
    with pytest.raises(ServiceError, match="只有信用办审核员可以执行此操作"):
        services.report_exception_withdraw(report=dept_report, user=users[who])
    assert MonthlyReport.objects.get(pk=dept_report.pk).edit_exception_until == NEXT_WEEK


# --- the report page --------------------------------------------------------------------


def test_unit_past_the_lock_day_edits_with_the_exception_and_not_after_withdrawal(client, users):
    """The whole story in the portal: locked, granted from the page, edited, withdrawn, locked again."""
    gov = Category.objects.get(code="gov_dishonesty_unresolved")
    client.force_login(users["county"])
    assert "已过锁定日" in page_text(client, "C01")
    assert client.post(count_url(), {"count": "3"}).status_code == 403  # a first action on a locked month
    assert not MonthlyReport.objects.exists()

    client.force_login(users["office"])
    response = client.post(exception_url("C01"), {"action": "grant", "until": NEXT_WEEK.isoformat(),
                                                  "reason": "补报失信整改数据"}, follow=True)
    assert f"已开通特许修改，单位可修改至 {NEXT_WEEK:%Y-%m-%d}" in response.content.decode()

    client.force_login(users["county"])
    text = page_text(client, "C01")
    assert 'id="exception-notice"' in text and "补报失信整改数据" in text and f"{NEXT_WEEK:%Y-%m-%d}" in text
    assert "已过锁定日" not in text
    client.post(count_url(), {"count": "3"})
    report = MonthlyReport.objects.get(unit__code="C01", period=period())
    assert report.entries.get(category=gov).count == 3

    client.force_login(users["office"])
    response = client.post(exception_url("C01"), {"action": "withdraw", "reason": ""}, follow=True)
    assert "已撤销特许修改" in response.content.decode()

    client.force_login(users["county"])
    text = page_text(client, "C01")
    assert "已过锁定日" in text and 'id="exception-notice"' not in text
    response = client.post(count_url(), {"count": "5"}, follow=True)
    assert "已过锁定日" in response.content.decode()
    assert report.entries.get(category=gov).count == 3
    with pytest.raises(ServiceError, match="已过锁定日"):
        services.count_set(report=report, category=gov, count=5, user=users["county"])
    actions = list(report.audit_events.order_by("id").values_list("action", flat=True))
    assert actions == ["created", "exception", "count_set", "exception_withdrawn"]


@pytest.mark.parametrize("who", ["dept", "county"])
def test_unit_reporters_get_403_from_the_exception_door(client, users, dept_report, who):
    client.force_login(users[who])
    grant = {"action": "grant", "until": NEXT_WEEK.isoformat(), "reason": "自己开"}
    for unit in ("D01", "C01", "D02"):
        assert client.post(exception_url(unit), grant).status_code == 403
        assert client.post(exception_url(unit), {"action": "withdraw"}).status_code == 403
    assert not events(AuditEvent.Action.EXCEPTION)
    assert MonthlyReport.objects.get(pk=dept_report.pk).edit_exception_until is None


def test_exception_form_errors_are_shown_and_nothing_changes(client, users, dept_report):
    client.force_login(users["office"])
    response = client.post(exception_url(), {"action": "grant", "until": "", "reason": ""}, follow=True)
    text = response.content.decode()
    assert "请填写特许修改的截止日期" in text and "开通特许修改时必须填写原因" in text
    response = client.post(exception_url(), {"action": "withdraw"}, follow=True)
    assert "没有特许修改，无需撤销" in response.content.decode()
    assert not AuditEvent.objects.filter(action__startswith="exception").exists()


def test_office_sees_the_exception_controls_and_units_do_not(client, users, dept_report):
    client.force_login(users["office"])
    text = page_text(client)
    assert 'id="grant-exception-form"' in text and 'id="withdraw-exception"' not in text
    services.report_exception_grant(report=dept_report, user=users["office"], until=NEXT_WEEK, reason="补报")
    text = page_text(client)
    assert 'id="withdraw-exception"' in text and "补报" in text
    client.force_login(users["dept"])
    text = page_text(client)
    assert 'id="grant-exception-form"' not in text and 'id="review-card"' not in text


def test_review_controls_sit_at_the_top_of_the_review_page(client, users, dept_report):
    services.report_submit(report=dept_report, user=None, confirm_nil=True)
    client.force_login(users["office"])
    text = page_text(client)
    assert text.index('id="accept-report"') < text.index("categories-table")
    assert text.index('id="return-report"') < text.index("categories-table")
    assert text.index('id="review-card"') < text.index("操作记录")
