"""Who to reach at each unit, the portal's inbox, and the office's reminders (催报).

A reminder is sent to a unit at most once a day for a given kind and month:
the unique constraint on ReminderLog is the guarantee (services insert the log
row and skip the unit when it already exists), so a task that retries, two
workers, or the office clicking twice never send it twice.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from credit_portal.jobs import Job
from reporting.models import MonthlyReport, Unit


def split_emails(text):
    """The addresses of a contact's email field: separated by commas, semicolons, 、 or whitespace."""
    for separator in ",;，；、\n\r\t":
        text = (text or "").replace(separator, " ")
    return list(dict.fromkeys(text.split()))


def validate_emails(text):
    bad = []
    for address in split_emails(text):
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(f"以下电子邮件地址格式不正确：{'、'.join(bad)}")


class UnitContact(models.Model):
    """The person the office calls (and mails) about a unit's reports."""

    unit = models.OneToOneField(Unit, verbose_name="单位", on_delete=models.CASCADE, related_name="contact")
    person = models.CharField("联系人", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=100, blank=True)
    emails = models.TextField(
        "电子邮件", blank=True, validators=[validate_emails],
        help_text="可填写多个地址，用逗号、分号或换行分隔；催报邮件发往这些地址",
    )
    note = models.CharField("备注", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["unit__order", "unit__code"]
        verbose_name = "单位联系人"
        verbose_name_plural = "单位联系人"

    def __str__(self):
        return f"{self.unit}：{self.person or '（未填联系人）'}"

    @property
    def email_list(self):
        return split_emails(self.emails)


class NoticeKind(models.TextChoices):
    SUBMITTED = "submitted", "单位提交报表"
    RESUBMITTED = "resubmitted", "单位重新提交"
    ACCEPTED = "accepted", "报表审核通过"
    RETURNED = "returned", "报表被退回"
    REOPENED = "reopened", "报表被重新打开"
    REMINDER = "reminder", "报送提醒"
    OVERDUE = "overdue", "逾期催报"


class ReminderKind(models.TextChoices):
    REMINDER = NoticeKind.REMINDER.value, NoticeKind.REMINDER.label
    OVERDUE = NoticeKind.OVERDUE.value, NoticeKind.OVERDUE.label


class Notification(models.Model):
    """One message in one user's inbox."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField("类型", max_length=12, choices=NoticeKind.choices)
    unit = models.ForeignKey(Unit, verbose_name="单位", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    period = models.DateField("月份", null=True, blank=True)
    report = models.ForeignKey(MonthlyReport, verbose_name="月度报表", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    link = models.CharField("链接", max_length=300, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    read_at = models.DateTimeField("阅读时间", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "站内消息"
        verbose_name_plural = "站内消息"
        indexes = [models.Index(fields=["recipient", "read_at"], name="notice_recipient_unread")]

    def __str__(self):
        return self.title

    @property
    def is_read(self):
        return self.read_at is not None


class ReminderRule(models.Model):
    """When the schedule reminds units by itself: N days before the deadline, or N days after it."""

    kind = models.CharField("类型", max_length=12, choices=ReminderKind.choices)
    days = models.PositiveSmallIntegerField(
        "天数", help_text="报送提醒：截止日前几天发送（0 为截止当天）；逾期催报：截止日后几天发送（1 为截止次日）",
    )
    is_active = models.BooleanField("启用", default=True)
    note = models.CharField("附言", max_length=300, blank=True, help_text="附在提醒正文之后（可留空）")

    class Meta:
        ordering = ["kind", "-days"]
        verbose_name = "自动催报规则"
        verbose_name_plural = "自动催报规则"
        constraints = [models.UniqueConstraint(fields=["kind", "days"], name="one_reminder_rule_per_kind_and_day")]

    def __str__(self):
        if self.kind == ReminderKind.REMINDER:
            return f"报送提醒：截止日前 {self.days} 天" if self.days else "报送提醒：截止当天"
        return f"逾期催报：截止日后 {self.days} 天"

    def clean(self):
        if self.kind == ReminderKind.OVERDUE and self.days == 0:
            raise ValidationError({"days": "逾期催报至少在截止日后 1 天发送。"})


class ReminderSource(models.TextChoices):
    OFFICE = "office", "信用办在网页上发送"
    SCHEDULE = "schedule", "定时任务"
    CLI = "cli", "命令行"


class EmailStatus(models.TextChoices):
    NONE = "none", "无邮箱，未发邮件"
    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class ReminderLog(models.Model):
    """One reminder to one unit: the audit of 催报, and the once-a-day guarantee (the unique constraint)."""

    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("类型", max_length=12, choices=ReminderKind.choices)
    period = models.DateField("月份")
    date = models.DateField("发送日期")
    created_at = models.DateTimeField("发送时间", auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="发送人", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    source = models.CharField("来源", max_length=10, choices=ReminderSource.choices)
    status_at_send = models.CharField("发送时报表状态", max_length=10, blank=True)
    due_date = models.DateField("报送截止日")
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容")
    inbox_count = models.PositiveSmallIntegerField("站内消息数", default=0)
    email_to = models.TextField("邮件收件人", blank=True)
    email_status = models.CharField("邮件状态", max_length=10, choices=EmailStatus.choices, default=EmailStatus.NONE)
    email_attempts = models.PositiveSmallIntegerField("邮件发送次数", default=0)
    emailed_at = models.DateTimeField("邮件发送时间", null=True, blank=True)
    email_error = models.TextField("邮件错误", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "催报记录"
        verbose_name_plural = "催报记录"
        constraints = [
            models.UniqueConstraint(fields=["unit", "kind", "period", "date"],
                                    name="one_reminder_per_unit_kind_month_day"),
        ]
        indexes = [models.Index(fields=["period", "unit"], name="reminder_period_unit")]

    def __str__(self):
        return f"{self.unit} {self.period:%Y-%m} {self.get_kind_display()}（{self.date:%Y-%m-%d}）"


class ReminderJob(Job):
    """A batch of reminders the office asked for (or the schedule started), run by a worker."""

    task = "notices.tasks.run_reminder_job"

    period = models.DateField("月份")
    kind = models.CharField("类型", max_length=12, choices=ReminderKind.choices, blank=True,
                            help_text="留空：截止日之前为报送提醒，之后为逾期催报")
    unit_codes = models.JSONField("单位编码", default=list, blank=True, help_text="空：全部未报送的单位")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="发送人", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    source = models.CharField("来源", max_length=10, choices=ReminderSource.choices, default=ReminderSource.OFFICE)
    note = models.CharField("附言", max_length=300, blank=True)
    sent_units = models.JSONField("已发送单位", default=list, blank=True)

    class Meta(Job.Meta):
        verbose_name = "催报任务"
        verbose_name_plural = "催报任务"
