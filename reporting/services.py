"""Services: every write of the reporting app goes through here.

Views, admin actions, Celery tasks and management commands are thin doors
into these functions.  `user=None` means the operator CLI (office rights).
Record imports live in reporting.imports (one entry point, records_import).
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from .excel import UploadRefused
from .models import (
    AuditEvent,
    Category,
    MonthlyReport,
    Record,
    ReportEntry,
    ReportStatus,
    Unit,
    ValueSynonym,
)
from .signals import report_status_changed
from .validation import synonyms_map, validate_table
from .validators import mask_id_number

logger = logging.getLogger(__name__)

MAX_STORED_ERRORS = 100_000
EDITABLE = (ReportStatus.DRAFT, ReportStatus.RETURNED)


class ServiceError(Exception):
    """A refused action; the message is Chinese and meant for the user."""


class NeedsConfirmation(ServiceError):
    """Submitting would declare untouched categories nil: the user must confirm."""

    def __init__(self, categories):
        self.categories = categories
        names = "、".join(c.name for c in categories)
        super().__init__(f"以下类别尚未填报，提交后将记为“本月无数据”：{names}。请确认后再提交。")


def audit(*, action, user=None, report=None, category=None, batch=None, message="", from_status="",
          to_status="", **details):
    return AuditEvent.objects.create(
        action=action, actor=user, report=report, category=category, batch=batch, message=message,
        from_status=from_status, to_status=to_status, details=details,
    )


def _is_office(user):
    return user is None or user.is_office


def _require_office(user):
    if not _is_office(user):
        raise ServiceError("只有信用办审核员可以执行此操作。")


# --- monthly reports ---------------------------------------------------------


def report_get_or_create(*, unit, period, user=None):
    """The unit's report for the month, with an entry for every applicable category.

    Only actions create reports (viewing a month writes nothing: see
    selectors.report_or_unsaved); the portal's actions go through report_open.
    """
    period = period.replace(day=1)
    with transaction.atomic():
        report, created = MonthlyReport.objects.get_or_create(unit=unit, period=period)
        if created:
            audit(action=AuditEvent.Action.CREATED, user=user, report=report, to_status=report.status)
        existing = set(report.entries.values_list("category_id", flat=True))
        ReportEntry.objects.bulk_create(
            [ReportEntry(report=report, category=c) for c in unit.categories() if c.id not in existing],
            ignore_conflicts=True,
        )
    return report


def report_open(*, unit, period, user):
    """The report an action of the user changes, created by the first action on the month.

    A month no one has acted on has no row; creating one for an action the
    user may not take (a unit past the lock day) is refused, writing nothing.
    """
    period = period.replace(day=1)
    if not MonthlyReport.objects.filter(unit=unit, period=period).exists():
        report_check_editable(report=MonthlyReport(unit=unit, period=period), user=user)
    return report_get_or_create(unit=unit, period=period, user=user)


def report_check_editable(*, report, user):
    """Raise ServiceError unless the user may change this report's data now."""
    if report.status not in EDITABLE:
        raise ServiceError(f"{report} 当前状态为“{report.get_status_display()}”，不能修改数据。")
    if user is not None and user.unit_id is not None:
        _, lock_date = report.deadlines()
        today = timezone.localdate()
        exception = report.edit_exception_until
        if today > lock_date and not (exception and today <= exception):
            raise ServiceError(
                f"{report.period_label}的报表已过锁定日（{lock_date:%Y-%m-%d}），"
                "如需修改请联系市信用办开通特许修改。"
            )


def entry_for(report, category):
    try:
        return report.entries.select_related("category", "current_batch").get(category=category)
    except ReportEntry.DoesNotExist:
        raise ServiceError(f"类别“{category.name}”不适用于{report.unit}。") from None


def count_set(*, report, category, count, user):
    if category.is_records:
        raise ServiceError(f"“{category.name}”须上传逐条记录，不能直接填写数量。")
    if count is None or int(count) < 0:
        raise ServiceError("数量应为不小于 0 的整数。")
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        report_check_editable(report=report, user=user)
        entry = entry_for(report, category)
        old = entry.count
        entry.count = int(count)
        entry.is_nil = False
        entry.save(update_fields=["count", "is_nil", "updated_at"])
        audit(action=AuditEvent.Action.COUNT_SET, user=user, report=report, category=category,
              message=f"{category.name}：{old if old is not None else '未填'} → {entry.count}", old=old, new=entry.count)
    return entry


def nil_declare(*, report, category, user):
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        report_check_editable(report=report, user=user)
        entry = entry_for(report, category)
        if entry.record_count:
            raise ServiceError(
                f"“{category.name}”已导入 {entry.record_count} 条记录，不能声明本月无数据。"
            )
        entry.is_nil = True
        entry.count = None
        entry.save(update_fields=["is_nil", "count", "updated_at"])
        audit(action=AuditEvent.Action.NIL_DECLARED, user=user, report=report, category=category,
              message=f"{category.name}：本月无数据")
    return entry


def nil_declare_untouched(*, report, categories, user):
    """其余类别本月无数据: declare nil every one of `categories` (the list the user confirmed) still untouched.

    A listed category that got data since the list was shown is left alone.  Returns the entries declared nil.
    """
    wanted = {c.pk for c in categories}
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        report_check_editable(report=report, user=user)
        entries = [e for e in report.entries.select_related("category").filter(category_id__in=wanted)
                   if not e.is_filled]
        for entry in entries:
            entry.is_nil = True
            entry.save(update_fields=["is_nil", "updated_at"])
            audit(action=AuditEvent.Action.NIL_DECLARED, user=user, report=report, category=entry.category,
                  message=f"{entry.category.name}：本月无数据（其余类别一并声明）")
    return entries


def nil_undo(*, report, category, user):
    """Take back a nil: the category is untouched again (to be uploaded, counted or declared nil later)."""
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        report_check_editable(report=report, user=user)
        entry = entry_for(report, category)
        if not entry.is_nil:
            raise ServiceError(f"“{category.name}”没有声明本月无数据，无需撤销。")
        entry.is_nil = False
        entry.save(update_fields=["is_nil", "updated_at"])
        audit(action=AuditEvent.Action.NIL_UNDONE, user=user, report=report, category=category,
              message=f"{category.name}：撤销本月无数据，改为未填报")
    return entry


def _transition(report, *, allowed_from, to, user, action, message="", **fields):
    """Change status with a conditional UPDATE so two reviewers cannot both win."""
    now = timezone.now()
    # The caller's object may be stale: read the status being left from the locked row, not from it.
    old = MonthlyReport.objects.select_for_update().filter(pk=report.pk).values_list("status", flat=True).first()
    updated = MonthlyReport.objects.filter(pk=report.pk, status__in=allowed_from).update(
        status=to, updated_at=now, **fields
    )
    if not updated:
        report.refresh_from_db()
        raise ServiceError(f"{report} 当前状态为“{report.get_status_display()}”，不能执行此操作。")
    report.refresh_from_db()
    audit(action=action, user=user, report=report, from_status=old, to_status=to, message=message)
    # Same transaction: the statistics catch up even if the broker is down right now.
    from rankings.services import rollup_request

    rollup_request(unit_id=report.unit_id, period=report.period)
    report_status_changed.send(sender=MonthlyReport, report=report, from_status=old, to_status=to, action=action,
                               user=user, message=message)
    return report


def report_submit(*, report, user, confirm_nil=False, note=""):
    """Submit the month.  Untouched categories become nil only with confirm_nil; `note` goes into the audit
    entry (e.g. the unusual counts the user confirmed)."""
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        report_check_editable(report=report, user=user)
        untouched = [e for e in report.entries.select_related("category") if not e.is_filled]
        if untouched and not confirm_nil:
            raise NeedsConfirmation([e.category for e in untouched])
        for entry in untouched:
            entry.is_nil = True
            entry.save(update_fields=["is_nil", "updated_at"])
            audit(action=AuditEvent.Action.NIL_DECLARED, user=user, report=report, category=entry.category,
                  message=f"{entry.category.name}：提交时确认本月无数据")
        now = timezone.now()
        fields = {"submitted_at": now, "return_reason": ""}
        if report.first_submitted_at is None:
            fields["first_submitted_at"] = now
            fields["on_time"] = timezone.localdate(now) <= report.due_date
        return _transition(report, allowed_from=EDITABLE, to=ReportStatus.SUBMITTED, user=user,
                           action=AuditEvent.Action.SUBMITTED, message=note, **fields)


def report_accept(*, report, user):
    _require_office(user)
    with transaction.atomic():
        return _transition(report, allowed_from=[ReportStatus.SUBMITTED], to=ReportStatus.ACCEPTED, user=user,
                           action=AuditEvent.Action.ACCEPTED, reviewed_at=timezone.now(), reviewed_by=user)


def report_return(*, report, user, reason):
    _require_office(user)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("退回时必须填写退回原因。")
    with transaction.atomic():
        return _transition(report, allowed_from=[ReportStatus.SUBMITTED], to=ReportStatus.RETURNED, user=user,
                           action=AuditEvent.Action.RETURNED, message=reason, return_reason=reason,
                           reviewed_at=timezone.now(), reviewed_by=user)


def report_reopen(*, report, user, reason):
    """Only the office reopens an accepted month; it goes back to the unit as returned."""
    _require_office(user)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("重新打开已通过的报表时必须填写原因。")
    with transaction.atomic():
        return _transition(report, allowed_from=[ReportStatus.ACCEPTED], to=ReportStatus.RETURNED, user=user,
                           action=AuditEvent.Action.REOPENED, message=reason, return_reason=reason,
                           reviewed_at=timezone.now(), reviewed_by=user)


def report_exception_grant(*, report, user, until, reason):
    """特许修改: the office lets the unit change the month past its lock day, up to `until` inclusive.

    The report may be a month no one has acted on yet (unsaved): granting is
    its first action and creates it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("开通特许修改时必须填写原因。")
    return _exception_set(report=report, user=user, until=until, message=f"允许单位修改至 {until:%Y-%m-%d}。原因：{reason}",
                          reason=reason)


def report_grant_exception(*, report, user, until):
    """The admin's raw 特许修改截止日 field, which gives no reason."""
    return _exception_set(report=report, user=user, until=until, message=f"允许单位修改至 {until:%Y-%m-%d}")


def _exception_set(*, report, user, until, message, reason=""):
    _require_office(user)
    if until < timezone.localdate():
        raise ServiceError(f"特许修改截止日（{until:%Y-%m-%d}）已过，请选择今天或以后的日期。")
    with transaction.atomic():
        if report.pk is None:
            report = report_get_or_create(unit=report.unit, period=report.period, user=user)
        report = MonthlyReport.objects.select_for_update().select_related("unit").get(pk=report.pk)
        previous = report.edit_exception_until
        report.edit_exception_until = until
        report.save(update_fields=["edit_exception_until", "updated_at"])
        audit(action=AuditEvent.Action.EXCEPTION, user=user, report=report, message=message,
              until=until.isoformat(), previous=previous.isoformat() if previous else None, reason=reason)
    return report


def report_exception_withdraw(*, report, user, reason=""):
    """End a 特许修改 now: past the lock day the unit can no longer change the month."""
    _require_office(user)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = MonthlyReport.objects.select_for_update().select_related("unit").filter(pk=report.pk).first()
        if locked is None or locked.edit_exception_until is None:
            raise ServiceError(f"{report}没有特许修改，无需撤销。")
        previous = locked.edit_exception_until
        locked.edit_exception_until = None
        locked.save(update_fields=["edit_exception_until", "updated_at"])
        audit(action=AuditEvent.Action.EXCEPTION_WITHDRAWN, user=user, report=locked,
              message=f"撤销特许修改（原可修改至 {previous:%Y-%m-%d}）" + (f"。原因：{reason}" if reason else ""),
              previous=previous.isoformat(), reason=reason)
    return locked


# --- single records of an editable month ---------------------------------------


class RecordInvalid(ServiceError):
    """An edited record breaks the field rules; `errors` lists {"column", "message"} as an upload would."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("；".join(f"{e['column']}：{e['message']}" for e in errors))


def record_update(*, record, values, user):
    """Correct one record of a month the user may change.

    `values` maps field keys to the text typed; a key left out keeps its stored value.  The row goes
    through the upload's own validator (field rules, rules across fields, spellings, 文书号 unique within
    the unit and category), so an edit can store nothing an upload could not.  Returns the record and
    {header: [old, new]} of what changed; the audit entry keeps the same.
    """
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=record.report_id)
        report_check_editable(report=report, user=user)
        record = Record.objects.select_related("category").get(pk=record.pk, report=report)
        schema = record.category.get_schema()
        cells = [values[f.key] if f.key in values else _stored_text(record.data.get(f.key)) for f in schema.fields]
        try:
            result = validate_table(schema, [(1, schema.headers), (2, cells)], today=timezone.localdate(),
                                    existing_doc_numbers=_OtherDocNumbers(record), synonyms=_synonyms())
        except UploadRefused:  # every cell blank
            raise RecordInvalid([{"column": "记录", "message": "记录不能全部为空；如要去掉这条记录，请删除它"}]) from None
        if result.errors:
            raise RecordInvalid(result.errors)
        row = result.rows[0]
        new = row.data
        changes = {f.header: [_shown(f.key, record.data.get(f.key)), _shown(f.key, new.get(f.key))]
                   for f in schema.fields if record.data.get(f.key) != new.get(f.key)}
        if not changes:
            return record, changes
        record.data = new
        record.doc_number, record.subject_name = row.doc_number, row.subject_name
        record.credit_code, record.id_number, record.record_date = row.credit_code, row.id_number, row.record_date
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError:  # another upload stored this 文书号 a moment ago
            header = schema.field(schema.doc_number_key).header
            raise RecordInvalid([{"column": header, "message": f"文书号“{row.doc_number}”已在本单位本类别报送过"}]) from None
        described = "；".join(f"{h}：{old or '（空）'} → {new or '（空）'}" for h, (old, new) in changes.items())
        audit(action=AuditEvent.Action.RECORD_EDITED, user=user, report=report, category=record.category,
              message=f"{record.category.name}第 {record.row_number} 行（{record.subject_name}）：{described}",
              record=record.pk, row=record.row_number, changes=changes)
    return record, changes


def record_delete(*, record, user):
    """Delete one record of a month the user may change; the category's count follows, the audit keeps what it was."""
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=record.report_id)
        report_check_editable(report=report, user=user)
        record = Record.objects.select_related("category").get(pk=record.pk, report=report)
        category = record.category
        record.delete()
        remaining = Record.objects.filter(report=report, category=category).count()
        ReportEntry.objects.filter(report=report, category=category).update(record_count=remaining,
                                                                           updated_at=timezone.now())
        audit(action=AuditEvent.Action.RECORD_DELETED, user=user, report=report, category=category,
              message=f"{category.name}第 {record.row_number} 行（{record.subject_name}"
                      f"{'，' + record.doc_number if record.doc_number else ''}）已删除，本类别现有 {remaining} 条",
              row=record.row_number, subject=record.subject_name, doc_number=record.doc_number,
              data={key: _shown(key, value) for key, value in record.data.items()})
    return remaining


def _stored_text(value):
    """A stored value as the text a user would type for it (dates are stored as 2019-08-05)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _shown(key, value):
    """A value as the audit trail shows it: identity numbers masked, as everywhere outside the office."""
    text = _stored_text(value)
    return mask_id_number(text) if key == "id_number" else text


def _synonyms():
    return synonyms_map(ValueSynonym.objects.values_list("field", "spelling", "canonical"))


class _OtherDocNumbers:
    """The unit's 文书号 of the category stored on other records: an edit must not duplicate one."""

    message = "文书号“{doc}”已在本单位本类别报送过，不能重复"

    def __init__(self, record):
        self.record = record

    def among(self, docs):
        return set(Record.objects.filter(unit_id=self.record.unit_id, category_id=self.record.category_id,
                                         doc_number__in=list(docs)).exclude(pk=self.record.pk)
                   .values_list("doc_number", flat=True))


# --- selectors used by several doors -----------------------------------------


def report_for(*, unit_code, period):
    unit = Unit.objects.get(code__iexact=unit_code)
    return report_get_or_create(unit=unit, period=period)


def category_by_code(code):
    try:
        return Category.objects.get(code=code)
    except Category.DoesNotExist:
        raise ServiceError(f"没有编码为“{code}”的类别。") from None


def report_summary(report):
    """The report's state per category, as the CLI and the API show it."""
    counts = dict(
        Record.objects.filter(report=report).values_list("category__code").annotate(n=Count("id")).order_by()
    )
    return {
        e.category.code: {
            "records": counts.get(e.category.code, 0),
            "count": e.count,
            "nil": e.is_nil,
        }
        for e in report.entries.select_related("category").order_by("category__order")
    }
