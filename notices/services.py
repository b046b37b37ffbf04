"""Writes of the notices app: inbox messages, 催报 (reminders) and their e-mails.

Reminders are idempotent per day: each unit's reminder starts with inserting
its ReminderLog row, and the row's unique constraint (unit, kind, month, date)
turns a second attempt — a retried task, a second worker, a second click, the
schedule and the office on the same day — into a skip.  Nothing checks first
and inserts after.  E-mails leave after the row is committed and their outcome
is recorded on it; a pending one is retried by the scheduled check.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from credit_portal import jobs
from reporting.models import AuditEvent, MonthlyReport, ReportStatus, Unit, User
from reporting.selectors import current_month, deadline_for, previous_month
from reporting.services import ServiceError

from .models import (
    EmailStatus,
    NoticeKind,
    Notification,
    ReminderJob,
    ReminderKind,
    ReminderLog,
    ReminderRule,
    ReminderSource,
)

logger = logging.getLogger(__name__)

SENT = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)
EMAIL_MAX_ATTEMPTS = 3


def period_label(period):
    return f"{period.year}年{period.month}月"


def _date_label(day):
    return f"{day.year}年{day.month}月{day.day}日"


# --- recipients -------------------------------------------------------------------------


def unit_users(unit_id):
    return User.objects.filter(unit_id=unit_id, is_active=True)


def office_users():
    """Active office staff: no unit, and staff, superuser or holding the review permission."""
    perms = Permission.objects.filter(codename="review_monthlyreport", content_type__app_label="reporting")
    return User.objects.filter(
        Q(is_staff=True) | Q(is_superuser=True) | Q(user_permissions__in=perms) | Q(groups__permissions__in=perms),
        unit__isnull=True, is_active=True,
    ).distinct()


def _notify(users, **fields):
    return Notification.objects.bulk_create([Notification(recipient=u, **fields) for u in users])


# --- report status changes ----------------------------------------------------------------


def last_return_reason(report):
    """Why the office last returned or reopened the report ("" if never)."""
    event = (
        AuditEvent.objects.filter(report=report, action__in=[AuditEvent.Action.RETURNED, AuditEvent.Action.REOPENED])
        .order_by("-created_at", "-id").first()
    )
    return event.message if event else ""


def notices_for_status_change(*, report, from_status, to_status, action, message=""):
    """Inbox messages for a report's status change: the office hears of (re)submissions, the unit of reviews."""
    unit, label = report.unit, period_label(report.period)
    common = {"unit": unit, "period": report.period, "report": report, "link": report.get_absolute_url()}
    if action == AuditEvent.Action.SUBMITTED:
        if from_status == ReportStatus.RETURNED:
            reason = last_return_reason(report)
            title = f"{unit.short_name}重新提交了{label}的报表"
            body = "请审核。" + (f"上次退回原因：{reason}" if reason else "")
            return _notify(office_users(), kind=NoticeKind.RESUBMITTED, title=title, body=body, **common)
        timing = "按时提交" if report.on_time else "逾期提交" if report.on_time is False else "已提交"
        title = f"{unit.short_name}提交了{label}的报表"
        return _notify(office_users(), kind=NoticeKind.SUBMITTED, title=title, body=f"{timing}，请审核。", **common)
    if action == AuditEvent.Action.ACCEPTED:
        return _notify(unit_users(unit.pk), kind=NoticeKind.ACCEPTED, title=f"{label}的报表已审核通过",
                       body="市信用办已审核通过贵单位本月报表，数据已计入统计。", **common)
    if action == AuditEvent.Action.RETURNED:
        return _notify(unit_users(unit.pk), kind=NoticeKind.RETURNED, title=f"{label}的报表被退回，请修改后重新提交",
                       body=f"退回原因：{message}", **common)
    if action == AuditEvent.Action.REOPENED:
        return _notify(unit_users(unit.pk), kind=NoticeKind.REOPENED,
                       title=f"{label}的报表已被市信用办重新打开，请修改后重新提交", body=f"原因：{message}", **common)
    return []


# --- the inbox ----------------------------------------------------------------------------


def notification_mark_read(*, notification):
    """Mark one of the user's messages read (the caller fetched it from the user's own inbox)."""
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


# --- 催报 -----------------------------------------------------------------------------------


@dataclass
class ReminderResult:
    period: datetime.date
    kind: str
    due_date: datetime.date
    sent: list = field(default_factory=list)  # units reminded now
    skipped: list = field(default_factory=list)  # units already reminded today (kind and month)
    dry_run: bool = False

    @property
    def kind_label(self):
        return ReminderKind(self.kind).label

    def as_json(self):
        """The contract of `remind --json`: units sorted by code."""
        return {
            "period": self.period.strftime("%Y-%m"),
            "units": sorted(u.code for u in self.sent),
            "sent": 0 if self.dry_run else len(self.sent),
        }


def reminder_kind_for(period, today=None):
    """Before the deadline (and on its day) a reminder, after it an overdue notice."""
    today = today or timezone.localdate()
    return ReminderKind.REMINDER if today <= deadline_for(period)[0] else ReminderKind.OVERDUE


def reminder_targets(period):
    """Active units whose report for the month is neither submitted nor accepted (missing, draft, returned)."""
    sent = MonthlyReport.objects.filter(period=period, status__in=SENT).values("unit_id")
    return Unit.objects.filter(is_active=True).exclude(pk__in=sent).select_related("contact")


def _check_period(period):
    if period > current_month():
        raise ServiceError(f"{period_label(period)}尚未开始，不能催报。")


def reminders_send(*, period, kind=None, unit_codes=None, actor=None, source=ReminderSource.OFFICE, note="",
                   today=None, dry_run=False):
    """Remind every unit (or those of unit_codes) whose report for the month is not sent; returns a ReminderResult.

    A unit already given this kind of notice for this month today is skipped, however often this runs.
    """
    period = period.replace(day=1)
    _check_period(period)
    today = today or timezone.localdate()
    kind = kind or reminder_kind_for(period, today)
    due_date = deadline_for(period)[0]
    targets = reminder_targets(period).order_by("code")
    if unit_codes is not None:
        codes = {c.strip().upper() for c in unit_codes}
        targets = targets.filter(code__in=codes)
    statuses = dict(MonthlyReport.objects.filter(period=period).values_list("unit_id", "status"))
    done_today = set(ReminderLog.objects.filter(kind=kind, period=period, date=today).values_list("unit_id", flat=True))
    result = ReminderResult(period=period, kind=kind, due_date=due_date, dry_run=dry_run)
    for unit in targets:
        if unit.pk in done_today:
            result.skipped.append(unit)
        elif dry_run or _remind_unit(unit, period=period, kind=kind, due_date=due_date, today=today,
                                     status=statuses.get(unit.pk, ""), actor=actor, source=source, note=note):
            result.sent.append(unit)
        else:
            result.skipped.append(unit)  # reminded meanwhile by someone else: the constraint said so
    return result


def reminder_text(unit, *, period, kind, due_date, today, status="", note=""):
    """(title, body) of a reminder."""
    label = period_label(period)
    returned = "该月报表已被退回，请按退回原因修改后重新提交。" if status == ReportStatus.RETURNED else ""
    if kind == ReminderKind.REMINDER:
        days = (due_date - today).days
        left = "今天截止" if days == 0 else f"还有 {days} 天"
        title = f"【报送提醒】{label}信用信息报表将于{_date_label(due_date)}截止"
        body = (f"{unit.name}：贵单位{label}的信用信息月度报表尚未提交，报送截止日为{_date_label(due_date)}（{left}）。"
                f"{returned}请及时登录信用信息报送平台填报并提交。")
    else:
        days = (today - due_date).days
        title = f"【逾期催报】{label}信用信息报表已逾期未报"
        body = (f"{unit.name}：贵单位{label}的信用信息月度报表报送截止日为{_date_label(due_date)}，"
                f"至今尚未提交（已逾期 {days} 天）。{returned}请尽快登录信用信息报送平台填报并提交；"
                "如已过锁定日无法修改，请联系市信用办开通特许修改。")
    if note.strip():
        body += f"\n{note.strip()}"
    return title, body


def _remind_unit(unit, *, period, kind, due_date, today, status, actor, source, note):
    """Insert the unit's log row, or skip it when today's exists; then its inbox messages.  True when sent."""
    title, body = reminder_text(unit, period=period, kind=kind, due_date=due_date, today=today, status=status,
                                note=note)
    emails = _emails_of(unit)
    with transaction.atomic():
        try:
            with transaction.atomic():
                log = ReminderLog.objects.create(
                    unit=unit, kind=kind, period=period, date=today, actor=actor, source=source,
                    status_at_send=status or "missing", due_date=due_date, title=title, body=body,
                    email_to=", ".join(emails), email_status=EmailStatus.PENDING if emails else EmailStatus.NONE,
                )
        except IntegrityError:
            return False
        link = MonthlyReport(unit=unit, period=period).get_absolute_url()
        messages = _notify(unit_users(unit.pk), kind=kind, unit=unit, period=period, title=title, body=body,
                           link=link, report=MonthlyReport.objects.filter(unit=unit, period=period).first())
        ReminderLog.objects.filter(pk=log.pk).update(inbox_count=len(messages))
        if emails:
            transaction.on_commit(lambda: reminder_email_send(log_id=log.pk))
    return True


def _emails_of(unit):
    """The unit contact's addresses; without any, those of the unit's users."""
    contact = getattr(unit, "contact", None)  # select_related by reminder_targets; None when there is none
    emails = contact.email_list if contact else []
    return emails or list(dict.fromkeys(e for e in unit_users(unit.pk).values_list("email", flat=True) if e))


def reminder_email_send(*, log_id):
    """Send a reminder's e-mail once its row is committed; the outcome is recorded on the row."""
    log = ReminderLog.objects.filter(pk=log_id, email_status=EmailStatus.PENDING).first()
    if log is None or log.email_attempts >= EMAIL_MAX_ATTEMPTS:
        return False
    claimed = ReminderLog.objects.filter(pk=log.pk, email_status=EmailStatus.PENDING,
                                         email_attempts=log.email_attempts).update(email_attempts=F("email_attempts") + 1)
    if not claimed:  # another process is sending it
        return False
    link = settings.PORTAL_BASE_URL.rstrip("/") + MonthlyReport(unit=log.unit, period=log.period).get_absolute_url()
    body = f"{log.body}\n\n报表地址：{link}\n\n（此邮件由信用信息报送平台自动发送，请勿直接回复。）"
    try:
        send_mail(log.title, body, settings.DEFAULT_FROM_EMAIL, [a.strip() for a in log.email_to.split(",")])
    except Exception as exc:  # SMTP refusals, timeouts: recorded for the office, retried by the schedule
        logger.warning("reminder e-mail %s failed", log.pk, exc_info=True)
        final = log.email_attempts + 1 >= EMAIL_MAX_ATTEMPTS
        ReminderLog.objects.filter(pk=log.pk).update(
            email_status=EmailStatus.FAILED if final else EmailStatus.PENDING, email_error=str(exc)[:1000],
        )
        return False
    ReminderLog.objects.filter(pk=log.pk).update(email_status=EmailStatus.SENT, emailed_at=timezone.now(),
                                                 email_error="")
    return True


def reminder_emails_retry(*, older_than_seconds=300):
    """E-mails still pending a while after their reminder (a failure, or a worker that died); returns how many sent."""
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    pending = ReminderLog.objects.filter(email_status=EmailStatus.PENDING, created_at__lt=cutoff,
                                         email_attempts__lt=EMAIL_MAX_ATTEMPTS).values_list("pk", flat=True)
    return sum(reminder_email_send(log_id=pk) for pk in list(pending))


# --- reminder jobs (the office's 催报 from the web, and the schedule's) --------------------------


def reminder_job_request(*, period, unit_codes=None, actor=None, source=ReminderSource.OFFICE, kind="", note=""):
    """Record a batch of reminders and enqueue it after commit; the worker sends them (see reminder_job_run)."""
    period = period.replace(day=1)
    _check_period(period)
    return jobs.job_request(ReminderJob, period=period, unit_codes=sorted(unit_codes or []), actor=actor,
                            source=source, kind=kind, note=note)


def reminder_job_run(*, job_id):
    """Run a recorded batch (safe to call twice: the job is claimed once, each unit's log row is unique)."""

    def work(job):
        result = reminders_send(period=job.period, kind=job.kind or None, unit_codes=job.unit_codes or None,
                                actor=job.actor, source=job.source, note=job.note)
        ReminderJob.objects.filter(pk=job.pk).update(sent_units=[u.code for u in result.sent])
        text = f"{period_label(job.period)}{result.kind_label}：已发送 {len(result.sent)} 个单位"
        if result.skipped:
            text += f"，{len(result.skipped)} 个单位今天已发送过，未重复发送"
        return text + "。"

    return jobs.job_run(ReminderJob, job_id, work)


def _rule_periods(today):
    """Months whose deadline a rule may be about: this month and the three before it."""
    months = [today.replace(day=1)]
    for _ in range(3):
        months.append(previous_month(months[-1]))
    return months


def rule_send_date(rule, period):
    due_date = deadline_for(period)[0]
    offset = datetime.timedelta(days=rule.days)
    return due_date - offset if rule.kind == ReminderKind.REMINDER else due_date + offset


def reminders_schedule(*, now=None):
    """The periodic check: for every active rule due today, a reminder job for the units still to remind.

    Runs every REMINDER_CHECK_SECONDS (not before REMINDER_EARLIEST_HOUR); a rerun the same day finds
    every unit already reminded and requests nothing.  Also retries reminder e-mails left pending.
    Returns the jobs requested.
    """
    now = timezone.localtime(now)
    reminder_emails_retry()
    if now.hour < settings.REMINDER_EARLIEST_HOUR:
        return []
    today = now.date()
    requested = []
    for rule in ReminderRule.objects.filter(is_active=True):
        for period in _rule_periods(today):
            if period > today.replace(day=1) or rule_send_date(rule, period) != today:
                continue
            if _still_to_remind(period, rule.kind, today) and not _job_waiting(period, rule.kind, today):
                requested.append(reminder_job_request(period=period, kind=rule.kind, note=rule.note,
                                                      source=ReminderSource.SCHEDULE))
    return requested


def _still_to_remind(period, kind, today):
    done = ReminderLog.objects.filter(kind=kind, period=period, date=today).values("unit_id")
    return reminder_targets(period).exclude(pk__in=done).exists()


def _job_waiting(period, kind, today):
    """A scheduled job for the same reminders that has not finished yet (a harmless duplicate is avoided)."""
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time()))
    return ReminderJob.objects.filter(
        period=period, kind=kind, source=ReminderSource.SCHEDULE, requested_at__gte=start,
        status__in=[jobs.JobStatus.PENDING, jobs.JobStatus.RUNNING],
    ).exists()


def next_rule_dates(today=None):
    """(rule, period, date) of the schedule's next sends, for the 催报 page."""
    today = today or timezone.localdate()
    upcoming = []
    for rule in ReminderRule.objects.filter(is_active=True):
        for period in _rule_periods(today):
            day = rule_send_date(rule, period)
            if day >= today:
                upcoming.append((rule, period, day))
    return sorted(upcoming, key=lambda item: item[2])[:4]
