"""Services: every write of the reporting app goes through here.

Views, admin actions, Celery tasks and management commands are thin doors
into these functions.  `user=None` means the operator CLI (office rights).
"""

import itertools
import logging
import weakref
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from .excel import Limits, UploadRefused, inspect_upload, iter_table
from .models import (
    AuditEvent,
    Category,
    ImportBatch,
    MonthlyReport,
    Record,
    ReportEntry,
    ReportStatus,
    Unit,
)
from .validation import validation_start

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
    """The unit's report for the month, with an entry for every applicable category."""
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
    return report


def report_submit(*, report, user, confirm_nil=False):
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
                           action=AuditEvent.Action.SUBMITTED, **fields)


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


def report_grant_exception(*, report, user, until):
    _require_office(user)
    report.edit_exception_until = until
    report.save(update_fields=["edit_exception_until", "updated_at"])
    audit(action=AuditEvent.Action.EXCEPTION, user=user, report=report, message=f"允许单位修改至 {until:%Y-%m-%d}")
    return report


# --- record imports ----------------------------------------------------------


def batch_create(*, report, category, fileobj, name, user, keep_valid_rows=False):
    """Store the original file and a pending import batch.  Nothing is validated yet."""
    if not category.is_records:
        raise ServiceError(f"“{category.name}”是数量类别，请直接填写数量，不需要上传文件。")
    report_check_editable(report=report, user=user)
    entry_for(report, category)
    size = getattr(fileobj, "size", None)
    if size is not None and size > settings.UPLOAD_MAX_BYTES:
        raise UploadRefused(
            f"文件过大（{size / 1024 / 1024:.0f} MB），上限为 {settings.UPLOAD_MAX_BYTES / 1024 / 1024:.0f} MB，请拆分后分批上传。"
        )
    batch = ImportBatch(
        report=report, category=category, user=user, original_name=Path(name).name[:255],
        sha256=ImportBatch.digest(fileobj), keep_valid_rows=keep_valid_rows,
    )
    batch.size = size if size is not None else 0
    batch.file.save(batch.original_name, File(fileobj, name=batch.original_name), save=False)
    batch.size = batch.file.size
    batch.save()
    return batch


def batch_wants_background(batch):
    return not settings.CELERY_TASK_ALWAYS_EAGER and batch.size > settings.UPLOAD_BACKGROUND_BYTES


def batch_dispatch(batch):
    """Run the batch now, or enqueue it when it is large and a worker exists."""
    if batch_wants_background(batch):
        from .tasks import process_import_batch

        transaction.on_commit(lambda: _enqueue(batch.pk, process_import_batch))
        return batch
    return batch_process(batch_id=batch.pk)


def _enqueue(batch_id, task):
    try:
        task.delay(batch_id)
    except Exception:  # broker down: run it here rather than lose the upload
        logger.exception("broker unavailable, processing import batch %s inline", batch_id)
        batch_process(batch_id=batch_id)


def file_validate(*, path, name, report, category, progress=None):
    """Inspect, read and validate a whole file against the category's schema.  Stores nothing."""
    result, rows = _file_open(path=path, name=name, report=report, category=category, progress=progress)
    result.rows = list(rows)
    return result


def _file_open(*, path, name, report, category, progress=None):
    """Refuse a bad file now; return (result, generator of valid rows) for a good one."""
    kind = inspect_upload(Path(path), name, Limits.from_settings())
    _, total, table = iter_table(Path(path), kind)
    schema = category.get_schema()
    existing = frozenset()
    if schema.doc_number_key:
        existing = _StoredDocNumbers(report=report, category=category)
    return validation_start(schema, table, existing_doc_numbers=existing, today=timezone.localdate(),
                            progress=progress, total=total)


class _StoredDocNumbers:
    """文书号 the unit stored for the category in other months, for the validator's duplicate check.

    Usually loaded once; a unit with years of large uploads (more than
    LOAD_ALL_BELOW numbers) is asked a block of the file's numbers at a time
    instead, through the (unit, category, 文书号) index, so memory stays flat.
    On PostgreSQL those questions go over a second connection: the import's
    own connection is busy with the COPY while the file is being checked.
    """

    LOAD_ALL_BELOW = 200_000

    def __init__(self, *, report, category):
        self.params = [report.unit_id, category.pk, report.pk]
        self.queryset = (Record.objects.filter(unit_id=report.unit_id, category=category)
                         .exclude(report=report).exclude(doc_number=""))
        self.loaded = None
        self.side = None
        if self.queryset.count() < self.LOAD_ALL_BELOW:
            self.loaded = frozenset(self.queryset.values_list("doc_number", flat=True))

    def among(self, docs):
        if self.loaded is not None:
            return self.loaded & docs
        if connection.vendor != "postgresql":  # elsewhere rows are stored between blocks, not during a COPY
            return set(self.queryset.filter(doc_number__in=list(docs)).values_list("doc_number", flat=True))
        if self.side is None:
            import psycopg2

            self.side = psycopg2.connect(**connection.get_connection_params())
            self.side.autocommit = True
            weakref.finalize(self, self.side.close)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"SELECT doc_number FROM {Record._meta.db_table} WHERE unit_id = %s AND category_id = %s"
                " AND report_id <> %s AND doc_number <> '' AND doc_number = ANY(%s)",
                [*self.params, list(docs)],
            )
            return {doc for (doc,) in cursor}


class _Rejected(Exception):
    """The file has errors: roll back whatever was streamed into the database."""


def batch_process(*, batch_id):
    """Validate a stored upload and, when it is good, replace the category's rows.

    Valid rows stream into the database while later rows are still being
    checked (on PostgreSQL the server stores them on another core); the
    transaction commits only if the whole file is good, or if the user
    explicitly chose to keep the good rows.  Safe to run twice: a finished
    batch is left alone.
    """
    batch = ImportBatch.objects.select_related("report__unit", "category", "user").get(pk=batch_id)
    if batch.is_finished:
        return batch
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING, progress=1)
    report, category, user = batch.report, batch.category, batch.user
    batch.is_first_upload = not ImportBatch.objects.filter(
        report__unit=report.unit, report__period=report.period, category=category, pk__lt=batch.pk
    ).exists()

    entry = entry_for(report, category)
    if entry.current_batch and entry.current_batch.sha256 == batch.sha256 and entry.record_count:
        msg = f"该文件与当前已导入的文件完全相同（{entry.record_count} 条），未重复计数。"
        return _finish(batch, ImportBatch.Status.DUPLICATE, message=msg, action=AuditEvent.Action.IMPORT_DUPLICATE)
    elsewhere = ReportEntry.objects.filter(
        report__unit=report.unit, category=category, current_batch__sha256=batch.sha256, record_count__gt=0
    ).exclude(report=report).select_related("report").first()
    if elsewhere:
        # Categories without a 文书号 cannot catch this row by row: the same file would count in two months.
        msg = (f"该文件与 {elsewhere.report.period_label} 已导入的文件完全相同（{elsewhere.record_count} 条），"
               "未重复计数。如确属本月数据，请核对后重新整理文件。")
        return _finish(batch, ImportBatch.Status.DUPLICATE, message=msg, action=AuditEvent.Action.IMPORT_DUPLICATE)

    with _ProgressReporter(batch.pk) as progress:
        try:
            result, rows = _file_open(path=batch.file.path, name=batch.original_name, report=report,
                                      category=category, progress=progress)
            with transaction.atomic():
                locked = MonthlyReport.objects.select_for_update().get(pk=report.pk)
                report_check_editable(report=locked, user=user)
                replaced = Record.objects.filter(report=report, category=category).delete()[0]
                stored = records_insert(_rows_to_store(result, rows, batch.keep_valid_rows),
                                        report=report, category=category, batch=batch)
                batch.total_rows = result.total_rows
                batch.valid_rows = result.valid_count
                batch.error_count = len(result.errors)
                batch.errors = result.errors[:MAX_STORED_ERRORS]
                # Keeping the good rows of a file that has none would silently wipe the category's rows.
                if result.errors and not (batch.keep_valid_rows and stored):
                    raise _Rejected
                ReportEntry.objects.filter(pk=entry.pk).update(
                    record_count=stored, is_nil=False, current_batch=batch, updated_at=timezone.now()
                )
                batch.imported_rows = stored
                batch.replaced_rows = replaced
                skipped = f"，跳过有错误的 {len(result.error_rows)} 行" if result.errors else ""
                replaced_msg = f"，替换了此前导入的 {replaced} 条" if replaced else ""
                msg = f"成功导入 {stored} 条记录{skipped}{replaced_msg}。"
                return _finish(batch, ImportBatch.Status.SUCCEEDED, message=msg, action=AuditEvent.Action.IMPORTED)
        except _Rejected:
            msg = (f"共 {result.total_rows} 行，其中 {len(result.error_rows)} 行有错误（{len(result.errors)} 处），"
                   "本次未导入任何数据。")
            return _finish(batch, ImportBatch.Status.FAILED, message=msg, action=AuditEvent.Action.IMPORT_FAILED)
        except (UploadRefused, ServiceError) as exc:
            return _finish(batch, ImportBatch.Status.REFUSED, message=str(exc),
                           action=AuditEvent.Action.IMPORT_REFUSED)
        except IntegrityError:
            # Another upload of this unit and category stored one of these 文书号 after we validated.
            msg = "文书号与同时导入的其他文件重复，本次未导入任何数据，请重新上传以查看具体重复的行。"
            return _finish(batch, ImportBatch.Status.REFUSED, message=msg, action=AuditEvent.Action.IMPORT_REFUSED)


def _rows_to_store(result, rows, keep_valid_rows):
    """Valid rows to write; once the file is known to be rejected, keep checking but stop writing."""
    for row in rows:
        if result.errors and not keep_valid_rows:
            continue
        yield row


class _ProgressReporter:
    """Progress updates that pollers can see while the import's transaction is still open.

    On PostgreSQL they go through a second, autocommit connection; elsewhere
    (SQLite, one writer at a time) through the ORM.
    """

    def __init__(self, batch_id):
        self.batch_id = batch_id
        self.side = None

    def __enter__(self):
        if connection.vendor == "postgresql":
            import psycopg2

            try:
                self.side = psycopg2.connect(**connection.get_connection_params())
                self.side.autocommit = True
            except psycopg2.Error:
                self.side = None
        return self

    def __call__(self, done, total):
        value = min(95, 5 + int(85 * done / max(total, 1)))
        if self.side is None:
            ImportBatch.objects.filter(pk=self.batch_id).update(progress=value)
            return
        with self.side.cursor() as cursor:
            cursor.execute(f"UPDATE {ImportBatch._meta.db_table} SET progress = %s WHERE id = %s",
                           [value, self.batch_id])

    def __exit__(self, *exc):
        if self.side is not None:
            self.side.close()
        return False


def _finish(batch, status, *, message, action):
    batch.status = status
    batch.message = message
    batch.progress = 100
    batch.finished_at = timezone.now()
    batch.save()
    audit(action=action, user=batch.user, report=batch.report, category=batch.category, batch=batch,
          message=f"{batch.original_name}：{message}", file=batch.original_name, sha256=batch.sha256,
          rows=batch.imported_rows, total_rows=batch.total_rows, errors=batch.error_count,
          replaced=batch.replaced_rows)
    return batch


_RECORD_COLUMNS = ("report_id", "unit_id", "category_id", "batch_id", "row_number", "doc_number",
                   "subject_name", "credit_code", "id_number", "record_date", "data")


def records_insert(rows, *, report, category, batch):
    """Write an iterable of CleanRows in one bulk operation; returns how many were written.

    PostgreSQL: one COPY that pulls rows from the iterable as it sends them.
    Elsewhere: bulk_create in chunks.  Must run inside the caller's transaction.

    records.report has no per-row foreign-key check (see Record): the report
    is locked here the way a foreign key would lock it, so it cannot be
    deleted before this transaction ends, and a missing report stores nothing.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("records_insert must run inside transaction.atomic()")
    _report_lock_key(report)
    if connection.vendor == "postgresql":
        reader = _CopyReader(rows, prefix=f"{report.pk}\t{report.unit_id}\t{category.pk}\t{batch.pk}\t")
        sql = "COPY {} ({}) FROM STDIN".format(Record._meta.db_table, ", ".join(_RECORD_COLUMNS))
        # copy_expert is not wrapped by Django: translate psycopg2's errors (IntegrityError) ourselves.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            cursor.copy_expert(sql, reader)
        if reader.error is not None:  # raised while producing rows (e.g. no data rows): the caller rolls back
            raise reader.error
        return reader.count
    count = 0
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, 2000)):
        Record.objects.bulk_create([
            Record(report=report, unit_id=report.unit_id, category=category, batch=batch, row_number=r.row,
                   doc_number=r.doc_number, subject_name=r.subject_name, credit_code=r.credit_code,
                   id_number=r.id_number, record_date=r.record_date, data=r.data_json)
            for r in chunk
        ])
        count += len(chunk)
    return count


def _report_lock_key(report):
    """Lock the report row against deletion, as a foreign-key check would (FOR KEY SHARE)."""
    table = MonthlyReport._meta.db_table
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s{lock}", [report.pk])
        if cursor.fetchone() is None:
            raise IntegrityError(f"report {report.pk} does not exist: its records cannot be stored")


def _copy_escape(text):
    """COPY's text format: escape backslash, tab, newline and carriage return (rare: scan first)."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


class _CopyDates(dict):
    """Dates as COPY text, each formatted once (a file has few distinct dates); None is NULL."""

    def __missing__(self, date):
        text = self[date] = "\\N" if date is None else date.isoformat()
        return text


class _CopyReader:
    """A file-like object for COPY FROM STDIN that produces lines from CleanRows on demand.

    Lines are checked a chunk at a time: only a chunk with a backslash, tab,
    newline or carriage return inside a value is escaped value by value.
    """

    def __init__(self, rows, *, prefix, chunk=1000):
        self.rows = iter(rows)
        self.prefix = prefix
        self.tabs = prefix.count("\t") + 6  # tabs in a line, when no value holds one
        self.chunk = chunk
        self.count = 0
        self.error = None
        self.dates = _CopyDates()

    def read(self, size=-1):
        try:
            rows = list(itertools.islice(self.rows, self.chunk))
        except Exception as exc:  # psycopg2 would turn it into QueryCanceled: keep it for records_insert
            self.error = exc
            return b""
        if not rows:
            return b""
        self.count += len(rows)
        prefix, dates = self.prefix, self.dates
        lines = [
            f"{prefix}{r.row}\t{r.doc_number}\t{r.subject_name}\t{r.credit_code}\t{r.id_number}\t"
            f"{dates[r.record_date]}\t{r.data_json}\n"
            for r in rows
        ]
        text = "".join(lines)
        # JSON holds no raw tab, newline or carriage return, so the whole chunk is checked at once:
        # the only backslashes must be the NULL marks, and every tab and newline a separator.
        nulls = sum(r.record_date is None for r in rows)
        if (text.count("\\") != nulls or "\r" in text or text.count("\n") != len(rows)
                or text.count("\t") != self.tabs * len(rows)):
            esc = _copy_escape
            text = "".join([
                f"{prefix}{r.row}\t{esc(r.doc_number)}\t{esc(r.subject_name)}\t{esc(r.credit_code)}\t"
                f"{esc(r.id_number)}\t{dates[r.record_date]}\t{esc(r.data_json)}\n"
                for r in rows
            ])
        return text.encode()

    readline = read


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
