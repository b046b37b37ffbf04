"""Notifications of report status changes, the inbox page, mark as read, the navbar's unread count."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from notices.models import NoticeKind, Notification
from reporting import services
from reporting.models import AuditEvent, ReportStatus, Unit, User

from .factories import period

pytestmark = pytest.mark.django_db


def inbox_of(user):
    return list(Notification.objects.filter(recipient=user).order_by("id"))


def open_for_editing(report):
    return services.report_grant_exception(report=report, user=None,
                                           until=timezone.localdate() + datetime.timedelta(days=30))


@pytest.fixture
def report(dept_report):
    return open_for_editing(dept_report)


@pytest.fixture
def submitted(report, users):
    return services.report_submit(report=report, user=users["dept"], confirm_nil=True)


# --- who is told what ---------------------------------------------------------------------------


def test_the_office_is_told_when_a_unit_submits(submitted, users):
    [notice] = inbox_of(users["office"])
    assert notice.kind == NoticeKind.SUBMITTED
    assert notice.title == "市审批局提交了2019年8月的报表"
    assert "逾期提交" in notice.body  # 2019-08 was due 2019-09-05
    assert notice.link == submitted.get_absolute_url()
    assert [n.kind for n in inbox_of(users["admin"])] == [NoticeKind.SUBMITTED]  # admins review too
    assert inbox_of(users["dept"]) == [] and inbox_of(users["other_dept"]) == []


def test_the_unit_is_told_its_report_was_returned_with_the_reason(submitted, users):
    services.report_return(report=submitted, user=users["office"], reason="行政许可少报了 3 条")
    [notice] = inbox_of(users["dept"])
    assert notice.kind == NoticeKind.RETURNED
    assert "被退回" in notice.title and notice.body == "退回原因：行政许可少报了 3 条"
    assert inbox_of(users["other_dept"]) == []


def test_a_resubmission_tells_the_office_the_previous_return_reason(submitted, users):
    returned = services.report_return(report=submitted, user=users["office"], reason="缺少处罚数据")
    services.report_submit(report=returned, user=users["dept"], confirm_nil=True)
    kinds = [n.kind for n in inbox_of(users["office"])]
    assert kinds == [NoticeKind.SUBMITTED, NoticeKind.RESUBMITTED]
    resubmitted = inbox_of(users["office"])[-1]
    assert resubmitted.title == "市审批局重新提交了2019年8月的报表"
    assert "上次退回原因：缺少处罚数据" in resubmitted.body


def test_the_unit_is_told_of_acceptance_and_of_a_reopening(submitted, users):
    accepted = services.report_accept(report=submitted, user=users["office"])
    services.report_reopen(report=accepted, user=users["office"], reason="补报遗漏的许可")
    kinds = [(n.kind, n.body) for n in inbox_of(users["dept"])]
    assert kinds[0][0] == NoticeKind.ACCEPTED
    assert kinds[1] == (NoticeKind.REOPENED, "原因：补报遗漏的许可")


def test_the_cli_operator_submitting_still_tells_the_office(report, users):
    services.report_submit(report=report, user=None, confirm_nil=True)
    assert [n.kind for n in inbox_of(users["office"])] == [NoticeKind.SUBMITTED]


def test_a_failing_notice_never_fails_the_submission(report, users, monkeypatch):
    from notices import services as notices

    def broken(**kwargs):
        Notification.objects.create(recipient=users["office"], kind="submitted", title="x")
        raise RuntimeError("boom")

    monkeypatch.setattr(notices, "notices_for_status_change", broken)
    submitted = services.report_submit(report=report, user=users["dept"], confirm_nil=True)
    assert submitted.status == ReportStatus.SUBMITTED
    assert not Notification.objects.exists()  # the receiver's savepoint was rolled back, the submission was not
    assert AuditEvent.objects.filter(report=submitted, action="submitted").exists()


def test_inactive_users_get_nothing(report, users):
    User.objects.filter(username="admin").update(is_active=False)
    services.report_submit(report=report, user=users["dept"], confirm_nil=True)
    assert inbox_of(users["admin"]) == []


# --- the inbox page --------------------------------------------------------------------------------


def test_inbox_lists_the_users_messages_and_the_navbar_counts_the_unread(client, submitted, users):
    services.report_return(report=submitted, user=users["office"], reason="请补充")
    client.force_login(users["dept"])
    page = client.get(reverse("inbox")).content.decode()
    assert "被退回" in page and "退回原因：请补充" in page
    assert 'id="unread-count">1<' in page
    home = client.get(reverse("home")).content.decode()
    assert 'id="unread-count">1<' in home


def test_opening_a_message_marks_it_read_and_goes_to_its_report(client, submitted, users):
    services.report_return(report=submitted, user=users["office"], reason="请补充")
    [notice] = inbox_of(users["dept"])
    client.force_login(users["dept"])
    response = client.post(reverse("notice_read", args=[notice.pk]), {"open": "1"})
    assert response["Location"] == submitted.get_absolute_url()
    notice.refresh_from_db()
    assert notice.is_read
    assert "unread-count" not in client.get(reverse("home")).content.decode()


def test_mark_all_read(client, submitted, users):
    client.force_login(users["office"])
    response = client.post(reverse("notices_read_all"), follow=True)
    assert "已将 1 条消息标为已读" in response.content.decode()
    assert not Notification.objects.filter(recipient=users["office"], read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=users["admin"], read_at__isnull=True).exists()  # only one's own


def test_unread_filter_shows_only_unread(client, submitted, users):
    client.force_login(users["office"])
    [notice] = inbox_of(users["office"])
    client.post(reverse("notice_read", args=[notice.pk]))
    assert "还没有消息" not in client.get(reverse("inbox")).content.decode()
    assert "没有未读消息" in client.get(reverse("inbox") + "?unread=1").content.decode()


def test_another_users_message_is_a_404(client, submitted, users):
    [notice] = inbox_of(users["office"])
    client.force_login(users["dept"])
    assert client.post(reverse("notice_read", args=[notice.pk])).status_code == 404
    notice.refresh_from_db()
    assert not notice.is_read


def test_reading_is_a_post(client, submitted, users):
    [notice] = inbox_of(users["office"])
    client.force_login(users["office"])
    assert client.get(reverse("notice_read", args=[notice.pk])).status_code == 405
    notice.refresh_from_db()
    assert not notice.is_read


def test_inbox_needs_login(client, reference):
    response = client.get(reverse("inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- the review queue ---------------------------------------------------------------------------------


def test_review_queue_marks_resubmissions_with_the_previous_return_reason(client, submitted, users):
    returned = services.report_return(report=submitted, user=users["office"], reason="缺少处罚数据")
    services.report_submit(report=returned, user=users["dept"], confirm_nil=True)
    county = services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=period())
    services.report_submit(report=open_for_editing(county), user=None, confirm_nil=True)
    client.force_login(users["office"])
    text = client.get(reverse("review_queue")).content.decode()
    d01 = text[text.index('data-unit="D01"'):]
    d01 = d01[:d01.index("</tr>")]
    c01 = text[text.index('data-unit="C01"'):]
    c01 = c01[:c01.index("</tr>")]
    assert "重新提交" in d01 and "上次退回原因：缺少处罚数据" in d01
    assert "重新提交" not in c01
