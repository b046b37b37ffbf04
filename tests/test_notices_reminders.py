"""催报: who is reminded, once a day at most, in the inbox and by e-mail; the schedule's rules; the office's page."""

import datetime
import zoneinfo

import pytest
from django.core import mail
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from credit_portal.jobs import JobStatus
from notices import services
from notices.models import EmailStatus, Notification, ReminderJob, ReminderKind, ReminderLog, ReminderRule, UnitContact
from reporting import services as reporting
from reporting.models import Deadline, MonthlyReport, ReportStatus, Unit, User
from reporting.services import ServiceError

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SEP = datetime.date(2019, 9, 1)  # due 2019-10-05


@pytest.fixture
def clock(monkeypatch):
    def set_clock(text):
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_clock


def unit(code):
    return Unit.objects.get(code=code)


def submit(code, period=SEP, *, accept=False, ret=False):
    report = reporting.report_get_or_create(unit=unit(code), period=period)
    report = reporting.report_submit(report=report, user=None, confirm_nil=True)
    if accept:
        report = reporting.report_accept(report=report, user=None)
    if ret:
        report = reporting.report_return(report=report, user=None, reason="数据不全")
    return report


@pytest.fixture
def september(users):
    """D01 accepted, D02 submitted, D03 returned, D04 in progress, everyone else nothing."""
    submit("D01", accept=True)
    submit("D02")
    submit("D03", ret=True)
    reporting.report_get_or_create(unit=unit("D04"), period=SEP)
    Notification.objects.all().delete()
    return SEP


def codes(units):
    return [u.code for u in units]


# --- who -----------------------------------------------------------------------------------------


def test_every_unit_not_submitted_or_accepted_is_reminded(september, clock):
    clock("2019-10-08 09:00")
    result = services.reminders_send(period=september)
    sent = codes(result.sent)
    assert "D01" not in sent and "D02" not in sent
    assert {"D03", "D04", "D05", "C01", "P05"} <= set(sent)
    assert len(sent) == 61
    assert result.kind == ReminderKind.OVERDUE
    assert result.as_json() == {"period": "2019-09", "units": sorted(sent), "sent": 61}


def test_inactive_units_are_not_reminded(september, clock):
    clock("2019-10-08 09:00")
    Unit.objects.filter(code="D05").update(is_active=False)
    assert "D05" not in codes(services.reminders_send(period=september).sent)


def test_before_the_deadline_it_is_a_reminder_after_it_an_overdue_notice(september, clock):
    clock("2019-10-05 09:00")
    assert services.reminders_send(period=september, unit_codes=["D04"]).kind == ReminderKind.REMINDER
    clock("2019-10-06 09:00")
    assert services.reminders_send(period=september, unit_codes=["D04"]).kind == ReminderKind.OVERDUE


def test_a_future_month_is_refused(users, clock):
    clock("2019-10-08 09:00")
    with pytest.raises(ServiceError, match="尚未开始"):
        services.reminders_send(period=datetime.date(2019, 11, 1))


# --- once a day ------------------------------------------------------------------------------------


def test_a_second_run_the_same_day_sends_nothing_the_next_day_sends_again(september, clock):
    clock("2019-10-08 09:00")
    first = services.reminders_send(period=september)
    again = services.reminders_send(period=september)
    assert again.sent == [] and len(again.skipped) == len(first.sent)
    assert ReminderLog.objects.count() == 61
    assert Notification.objects.filter(recipient__unit__code="D04").count() == 1
    clock("2019-10-09 09:00")
    assert len(services.reminders_send(period=september).sent) == 61
    assert Notification.objects.filter(recipient__unit__code="D04").count() == 2


def test_a_reminder_and_an_overdue_notice_are_different_notices(september, clock):
    clock("2019-10-08 09:00")
    services.reminders_send(period=september, unit_codes=["D04"], kind=ReminderKind.REMINDER)
    assert codes(services.reminders_send(period=september, unit_codes=["D04"]).sent) == ["D04"]


def test_the_unique_row_not_a_check_decides(september, clock, monkeypatch):
    """Another worker inserted today's row after this one looked: the insert fails and the unit is skipped."""
    clock("2019-10-08 09:00")
    d04 = unit("D04")
    real_filter = ReminderLog.objects.filter

    def looks_empty(*args, **kwargs):  # what this process saw before the other one committed
        return real_filter(pk=-1) if kwargs.get("date") else real_filter(*args, **kwargs)

    ReminderLog.objects.create(unit=d04, kind=ReminderKind.OVERDUE, period=september, date=timezone.localdate(),
                               source="schedule", due_date=datetime.date(2019, 10, 5), title="t", body="b")
    monkeypatch.setattr(ReminderLog.objects, "filter", looks_empty)
    result = services.reminders_send(period=september, unit_codes=["D04", "D05"])
    assert codes(result.sent) == ["D05"] and codes(result.skipped) == ["D04"]
    assert not Notification.objects.filter(recipient__unit=d04).exists()
    with pytest.raises(IntegrityError):
        ReminderLog.objects.create(unit=d04, kind=ReminderKind.OVERDUE, period=september,
                                   date=timezone.localdate(), source="cli", due_date=september, title="t", body="b")


def test_dry_run_lists_without_sending(september, clock):
    clock("2019-10-08 09:00")
    result = services.reminders_send(period=september, dry_run=True)
    assert len(result.sent) == 61 and result.as_json()["sent"] == 0
    assert not ReminderLog.objects.exists() and not Notification.objects.exists()


# --- what is sent ----------------------------------------------------------------------------------


def test_the_notice_is_in_the_units_inbox_and_audited(september, clock, users):
    clock("2019-10-08 09:00")
    services.reminders_send(period=september, unit_codes=["D03"], actor=users["office"], note="请于本周内补报")
    d03_user = User.objects.get(username="d03")
    [notice] = Notification.objects.filter(recipient=d03_user)
    assert notice.kind == ReminderKind.OVERDUE
    assert notice.title == "【逾期催报】2019年9月信用信息报表已逾期未报"
    assert "已逾期 3 天" in notice.body and "已被退回" in notice.body and "请于本周内补报" in notice.body
    assert notice.link == reverse("report_detail", args=["D03", "2019-09"])
    log = ReminderLog.objects.get(unit__code="D03")
    assert (log.actor, log.source, log.status_at_send, log.inbox_count) == (users["office"], "office", "returned", 1)
    assert log.date == datetime.date(2019, 10, 8) and log.due_date == datetime.date(2019, 10, 5)


def test_email_goes_to_the_contacts_addresses(september, clock, django_capture_on_commit_callbacks):
    clock("2019-10-08 09:00")
    UnitContact.objects.create(unit=unit("D04"), person="王科长", phone="0417-1234567",
                               emails="wang@example.gov.cn； li@example.gov.cn")
    with django_capture_on_commit_callbacks(execute=True):
        services.reminders_send(period=september, unit_codes=["D04"])
    [message] = mail.outbox
    assert message.to == ["wang@example.gov.cn", "li@example.gov.cn"]
    assert message.subject == "【逾期催报】2019年9月信用信息报表已逾期未报"
    assert "http://127.0.0.1:8000/reports/D04/2019-09/" in message.body
    log = ReminderLog.objects.get(unit__code="D04")
    assert log.email_status == EmailStatus.SENT and log.emailed_at is not None


def test_without_a_contact_the_units_users_are_mailed(september, clock, django_capture_on_commit_callbacks):
    clock("2019-10-08 09:00")
    User.objects.filter(username="d05").update(email="d05@example.gov.cn")
    with django_capture_on_commit_callbacks(execute=True):
        services.reminders_send(period=september, unit_codes=["D05", "D06"])
    assert [m.to for m in mail.outbox] == [["d05@example.gov.cn"]]
    assert ReminderLog.objects.get(unit__code="D06").email_status == EmailStatus.NONE


def test_no_email_before_the_commit(september, clock, django_capture_on_commit_callbacks):
    clock("2019-10-08 09:00")
    UnitContact.objects.create(unit=unit("D04"), emails="wang@example.gov.cn")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.reminders_send(period=september, unit_codes=["D04"])
    assert mail.outbox == [] and len(callbacks) == 1


def test_a_failed_email_is_recorded_and_retried(september, clock, settings, django_capture_on_commit_callbacks):
    clock("2019-10-08 09:00")
    UnitContact.objects.create(unit=unit("D04"), emails="wang@example.gov.cn")
    settings.EMAIL_BACKEND = "tests.test_notices_reminders.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        services.reminders_send(period=september, unit_codes=["D04"])
    log = ReminderLog.objects.get()
    assert (log.email_status, log.email_attempts) == (EmailStatus.PENDING, 1)
    assert "mail server down" in log.email_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.reminder_emails_retry(older_than_seconds=-1) == 1
    log.refresh_from_db()
    assert log.email_status == EmailStatus.SENT and len(mail.outbox) == 1


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("mail server down")


def test_contact_emails_are_validated(users):
    from django.core.exceptions import ValidationError

    contact = UnitContact(unit=unit("D01"), emails="ok@example.gov.cn, 不是邮箱")
    with pytest.raises(ValidationError, match="不是邮箱"):
        contact.full_clean()


# --- the schedule -------------------------------------------------------------------------------------


def test_default_rules_remind_three_days_before_and_chase_the_day_after(users):
    assert sorted((r.kind, r.days) for r in ReminderRule.objects.all()) == [("overdue", 1), ("reminder", 3)]


def test_schedule_sends_the_reminder_n_days_before_the_deadline(september, clock, django_capture_on_commit_callbacks):
    clock("2019-10-02 09:00")  # 2019-09 is due 2019-10-05
    with django_capture_on_commit_callbacks(execute=True):
        jobs = services.reminders_schedule()
    assert [(j.period, j.kind, j.source) for j in jobs] == [(SEP, "reminder", "schedule")]
    job = ReminderJob.objects.get()
    assert job.status == JobStatus.DONE  # eager Celery ran it on commit
    assert ReminderLog.objects.filter(kind="reminder").count() == 61
    assert services.reminders_schedule() == []  # later checks the same day: nothing left to do


def test_schedule_sends_the_overdue_notice_the_day_after(september, clock, django_capture_on_commit_callbacks):
    clock("2019-10-06 10:00")
    with django_capture_on_commit_callbacks(execute=True):
        services.reminders_schedule()
    assert set(ReminderLog.objects.values_list("kind", flat=True)) == {"overdue"}
    clock("2019-10-07 10:00")
    assert services.reminders_schedule() == []


def test_schedule_follows_the_admins_rules_and_deadlines(september, clock):
    Deadline.objects.create(period=SEP, due_date=datetime.date(2019, 10, 10), lock_date=datetime.date(2019, 10, 25))
    ReminderRule.objects.filter(kind="reminder").update(days=1)
    clock("2019-10-02 09:00")
    assert services.reminders_schedule() == []
    clock("2019-10-09 09:00")
    assert len(services.reminders_schedule()) == 1
    ReminderRule.objects.update(is_active=False)
    clock("2019-10-11 09:00")
    assert services.reminders_schedule() == []


def test_schedule_waits_for_office_hours(september, clock, settings):
    settings.REMINDER_EARLIEST_HOUR = 8
    clock("2019-10-02 07:30")
    assert services.reminders_schedule() == []
    clock("2019-10-02 08:00")
    assert len(services.reminders_schedule()) == 1


def test_a_reminder_job_run_twice_sends_once(september, clock):
    clock("2019-10-08 09:00")
    job = ReminderJob.objects.create(period=SEP, unit_codes=["D04", "D05"])
    services.reminder_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.sent_units == ["D04", "D05"]
    ReminderJob.objects.filter(pk=job.pk).update(status=JobStatus.PENDING)  # as if the sweep sent it again
    services.reminder_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert "2 个单位今天已发送过" in job.message
    assert ReminderLog.objects.count() == 2 and Notification.objects.count() == 2


# --- the office's page ----------------------------------------------------------------------------------


def test_remind_page_lists_units_not_sent_with_contacts_overdue_ones_checked(client, september, clock, users):
    clock("2019-10-08 09:00")
    UnitContact.objects.create(unit=unit("D04"), person="王科长", phone="0417-1234567", emails="wang@example.gov.cn")
    client.force_login(users["office"])
    text = client.get(reverse("remind") + "?month=2019-09").content.decode()
    assert 'data-unit="D01"' not in text and 'data-unit="D02"' not in text
    row = text[text.index('data-unit="D04"'):]
    row = row[:row.index("</tr>")]
    assert "王科长" in row and "0417-1234567" in row and "wang@example.gov.cn" in row and "checked" in row
    assert "逾期催报" in text


def test_before_the_deadline_nobody_is_checked(client, september, clock, users):
    clock("2019-10-03 09:00")
    client.force_login(users["office"])
    text = client.get(reverse("remind") + "?month=2019-09").content.decode()
    assert 'name="units" value="D04"' in text and "checked" not in text.split('id="remind-table"')[1]


def post_and_commit(client, data, capture):
    """The POST as in production, where the request's transaction commits and the job runs (eager Celery)."""
    with capture(execute=True):
        response = client.post(reverse("remind"), data)
    return client.get(response["Location"])


def test_office_sends_from_the_page(client, september, clock, users, django_capture_on_commit_callbacks):
    clock("2019-10-08 09:00")
    client.force_login(users["office"])
    response = post_and_commit(client, {"month": "2019-09", "units": ["D03", "D04"]},
                               django_capture_on_commit_callbacks)
    assert "已发送 2 个单位" in response.content.decode()
    assert sorted(ReminderLog.objects.values_list("unit__code", flat=True)) == ["D03", "D04"]
    assert set(ReminderLog.objects.values_list("actor__username", flat=True)) == {"office"}
    again = post_and_commit(client, {"month": "2019-09", "units": ["D03", "D04"]}, django_capture_on_commit_callbacks)
    assert "今天已发送过，未重复发送" in again.content.decode()
    assert ReminderLog.objects.count() == 2


def test_a_unit_already_sent_is_not_reminded_even_if_posted(client, september, clock, users,
                                                            django_capture_on_commit_callbacks):
    clock("2019-10-08 09:00")
    client.force_login(users["office"])
    post_and_commit(client, {"month": "2019-09", "units": ["D01", "D02", "D04"]}, django_capture_on_commit_callbacks)
    assert list(ReminderLog.objects.values_list("unit__code", flat=True)) == ["D04"]


def test_sending_nothing_is_refused(client, september, clock, users):
    clock("2019-10-08 09:00")
    client.force_login(users["office"])
    response = client.post(reverse("remind"), {"month": "2019-09"}, follow=True)
    assert "请至少选择一个单位" in response.content.decode()
    assert not ReminderJob.objects.exists()


def test_units_cannot_open_the_remind_page_nor_send(client, september, users):
    client.force_login(users["dept"])
    assert client.get(reverse("remind")).status_code == 403
    assert client.post(reverse("remind"), {"month": "2019-09", "units": ["D04"]}).status_code == 403
    assert not ReminderLog.objects.exists()


def test_report_states_are_untouched_by_reminders(september, clock):
    clock("2019-10-08 09:00")
    before = dict(MonthlyReport.objects.values_list("unit__code", "status"))
    services.reminders_send(period=september)
    assert dict(MonthlyReport.objects.values_list("unit__code", "status")) == before
    assert before["D03"] == ReportStatus.RETURNED
