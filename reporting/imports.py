"""Record imports: an uploaded file validated and stored, all or nothing.  One entry point: records_import.

The report workflow (submit, accept, nil, counts) stays in reporting.services; this module owns the
path of a file: `batch_create` keeps the original and a pending ImportBatch (the job's database row),
`batch_dispatch` runs it here or hands it to a worker, `records_import(batch_id=…)` validates and
stores it, and `imports_sweep` finds jobs whose process died and runs them again or marks them
interrupted.  Every door (page, CLI, task, the month workbook) goes through these functions.
"""

import itertools
import logging
import uuid
import weakref
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .excel import Limits, UploadRefused, inspect_upload, iter_sheets, iter_table
from .models import AuditEvent, ImportBatch, MonthlyReport, Record, ReportEntry, ValueSynonym
from .services import ServiceError, audit, entry_for, report_check_editable
from .validation import header_score, open_table, synonyms_map, validation_start

logger = logging.getLogger(__name__)

Status = ImportBatch.Status
Mode = ImportBatch.Mode
# Advisory-lock class of running imports (PostgreSQL): held by the importing process for the batch's
# whole run, so a free lock means nobody is running it any more (see imports_sweep).
IMPORT_LOCK_CLASS = 8_802


# --- creating and dispatching ------------------------------------------------------


def batch_create(*, report, category, fileobj, name, user, keep_valid_rows=False, mode=Mode.REPLACE,
                 sheet="", group="", stored_file=None):
    """Store the original file and a pending import batch.  Nothing is validated yet.

    `stored_file` reuses a file another batch of the same upload already stored (the month workbook).
    """
    if not category.is_records:
        raise ServiceError(f"“{category.name}”是数量类别，请直接填写数量，不需要上传文件。")
    report_check_editable(report=report, user=user)
    entry_for(report, category)
    if mode not in Mode.values:
        raise ServiceError("请选择“替换本类别已有记录”或“追加到已有记录”。")
    size = getattr(fileobj, "size", None) if fileobj is not None else stored_file.size
    if size is not None and size > settings.UPLOAD_MAX_BYTES:
        raise UploadRefused(
            f"文件过大（{size / 1024 / 1024:.0f} MB），上限为 {settings.UPLOAD_MAX_BYTES / 1024 / 1024:.0f} MB，请拆分后分批上传。"
        )
    batch = ImportBatch(
        report=report, category=category, user=user, original_name=Path(name).name[:255], mode=mode,
        keep_valid_rows=keep_valid_rows, sheet=sheet[:100], group=group,
    )
    if stored_file is not None:
        batch.file.name, batch.sha256, batch.size = stored_file.file.name, stored_file.sha256, stored_file.size
    else:
        batch.sha256 = ImportBatch.digest(fileobj)
        batch.file.save(batch.original_name, File(fileobj, name=batch.original_name), save=False)
        batch.size = batch.file.size
    batch.background = batch_wants_background(batch)
    batch.save()
    return batch


def batch_wants_background(batch):
    return not settings.CELERY_TASK_ALWAYS_EAGER and batch.size > settings.UPLOAD_BACKGROUND_BYTES


def batch_dispatch(batch):
    """Run the batch now, or enqueue it (after commit) when it is large and a worker exists."""
    if batch.background:
        transaction.on_commit(lambda: _enqueue(batch.pk))
        return batch
    return records_import(batch_id=batch.pk)


def _enqueue(batch_id):
    from .tasks import process_import_batch

    try:
        process_import_batch.delay(batch_id)
    except Exception:  # broker down: run it here rather than keep the user waiting for the sweep
        logger.exception("broker unavailable, processing import batch %s inline", batch_id)
        records_import(batch_id=batch_id)


# --- the month workbook ------------------------------------------------------------


class WorkbookSheet:
    """What became of one sheet of a month workbook."""

    def __init__(self, name, category=None, batch=None, note=""):
        self.name, self.category, self.batch, self.note = name, category, batch, note


def workbook_import(*, report, fileobj, name, user):
    """A month workbook: each non-empty sheet named after one of the unit's records categories is
    imported as that category (a batch each, replacing the category's rows of the draft month).

    Empty sheets and the instructions change nothing (nil stays an explicit choice).  Returns the
    WorkbookSheet list in workbook order; batches are dispatched like single uploads.
    """
    report_check_editable(report=report, user=user)
    first = batch_create(report=report, category=_any_records_category(report), fileobj=fileobj, name=name,
                         user=user, group=uuid.uuid4().hex)
    try:
        inspect_upload(Path(first.file.path), first.original_name, Limits.from_settings())
        outcome = _workbook_sheets(report, Path(first.file.path))
    except UploadRefused:
        first.delete()
        raise
    sheets = []
    for sheet_name, category, note in outcome:
        if category is None or note:
            sheets.append(WorkbookSheet(sheet_name, category, note=note))
            continue
        batch = batch_create(report=report, category=category, fileobj=None, name=first.original_name, user=user,
                             sheet=sheet_name, group=first.group, stored_file=first)
        sheets.append(WorkbookSheet(sheet_name, category, batch))
    first.delete()  # it only stored the file, which the sheets' batches now share
    if not any(s.batch for s in sheets):
        raise UploadRefused("工作簿中没有填写任何数据的类别工作表（空表不会改变任何类别）。"
                            "请在与类别同名的工作表中填写记录后再上传。")
    for sheet in sheets:
        if sheet.batch is not None:
            sheet.batch = batch_dispatch(sheet.batch)
    return sheets


def _any_records_category(report):
    entry = report.entries.select_related("category").filter(category__measure="records").first()
    if entry is None:
        raise ServiceError(f"{report.unit}没有需要上传逐条记录的类别。")
    return entry.category


def _workbook_sheets(report, path):
    """(sheet name, category or None, note) for every sheet; note is "" for a sheet to import."""
    from .exports import sheet_title

    categories = {sheet_title(c.name): c for c in (e.category for e in report.entries.select_related("category"))
                  if c.is_records}
    by_code = {c.code: c for c in categories.values()}
    out = []
    for sheet_name, _, rows in iter_sheets(path):
        category = categories.get(sheet_name.strip()) or by_code.get(sheet_name.strip())
        if category is None:
            if sheet_name.strip() != "填表说明":
                out.append((sheet_name, None, "工作表名称不是本单位的类别名称，已忽略"))
            continue
        out.append((sheet_name, category, "" if _has_data(category, rows) else "空表，未改变本类别"))
    return out


def _has_data(category, rows):
    try:
        result, rows = open_table(category.get_schema(), rows)
    except UploadRefused:
        return False
    return any(number > result.header_row and any(c not in (None, "") for c in cells) for number, cells in rows)


# --- the import --------------------------------------------------------------------


class _Rejected(Exception):
    """The file has errors: roll back whatever was streamed into the database."""


def records_import(*, batch_id):
    """Validate a stored upload and store its rows: replacing the category's rows, or appended to them.

    Valid rows stream into the database while later rows are still being checked (on PostgreSQL the
    server stores them on another core); the transaction commits only if the whole file is good, or if
    the user explicitly chose to keep the good rows.  Safe to run twice, and at once from two
    processes: the batch is claimed with a conditional UPDATE, and a finished batch is left alone.
    """
    if not _claim(batch_id):
        return ImportBatch.objects.filter(pk=batch_id).first()  # finished, running elsewhere, or gone
    batch = ImportBatch.objects.select_related("report__unit", "category", "user").get(pk=batch_id)
    report = batch.report
    with _Liveness(batch.pk) as progress:
        try:
            result, rows = _file_open(batch=batch, progress=progress)
            with transaction.atomic():
                locked = MonthlyReport.objects.select_for_update().get(pk=report.pk)
                report_check_editable(report=locked, user=batch.user)
                # Checked under the report's lock: of two identical uploads at once, one imports.
                duplicate = _duplicate_of(batch)
                if duplicate:
                    return _finish(batch, Status.DUPLICATE, message=duplicate, action=AuditEvent.Action.IMPORT_DUPLICATE)
                return _store(batch, result, rows)
        except _Rejected:
            message = result.summary() + "，本次未导入任何数据。"
            return _finish(batch, Status.FAILED, message=message, action=AuditEvent.Action.IMPORT_FAILED)
        except (UploadRefused, ServiceError) as exc:
            return _finish(batch, Status.REFUSED, message=str(exc), action=AuditEvent.Action.IMPORT_REFUSED)
        except IntegrityError:
            # Another upload of this unit and category stored one of these 文书号 after we validated.
            message = "文书号与同时导入的其他文件重复，本次未导入任何数据，请重新上传以查看具体重复的行。"
            return _finish(batch, Status.REFUSED, message=message, action=AuditEvent.Action.IMPORT_REFUSED)


def _claim(batch_id):
    """Mark the batch running for this process; False when it is finished or another live process has it."""
    now = timezone.now()
    stale = now - timezone.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    claimable = Q(status=Status.PENDING) | Q(status=Status.RUNNING, heartbeat_at__lt=stale)
    return bool(ImportBatch.objects.filter(claimable, pk=batch_id).update(
        status=Status.RUNNING, progress=1, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1,
    ))


def _duplicate_of(batch):
    """Why this file must not count again, or ""."""
    report, category = batch.report, batch.category
    entry = entry_for(report, category)
    same = Record.objects.filter(report=report, category=category, batch__sha256=batch.sha256)
    if entry.record_count and same.exists():
        # The file's own rows (after appends the category holds more than this file).
        return f"该文件与当前已导入的文件完全相同（{same.count()} 条），未重复计数。"
    elsewhere = ReportEntry.objects.filter(
        report__unit=report.unit, category=category, current_batch__sha256=batch.sha256, record_count__gt=0
    ).exclude(report=report).select_related("report").first()
    if elsewhere:
        # Categories without a 文书号 cannot catch this row by row: the same file would count in two months.
        return (f"该文件与 {elsewhere.report.period_label} 已导入的文件完全相同（{elsewhere.record_count} 条），"
                "未重复计数。如确属本月数据，请核对后重新整理文件。")
    return ""


def _store(batch, result, rows):
    """Inside the report's lock: replace or append the category's rows; raise _Rejected to roll back."""
    report, category = batch.report, batch.category
    append = batch.mode == Mode.APPEND
    replaced = 0 if append else Record.objects.filter(report=report, category=category).delete()[0]
    stored = records_insert(_rows_to_store(result, rows, batch.keep_valid_rows),
                            report=report, category=category, batch=batch)
    batch.total_rows = result.total_rows
    batch.valid_rows = result.valid_count
    batch.error_count = result.error_count
    batch.errors = result.errors
    # Keeping the good rows of a file that has none would silently wipe the category's rows; a file
    # whose checking stopped early was not read to the end, so none of it is kept.
    if result.error_count and not (batch.keep_valid_rows and stored and not result.stopped):
        raise _Rejected
    total = Record.objects.filter(report=report, category=category).count() if append else stored
    ReportEntry.objects.filter(report=report, category=category).update(
        record_count=total, is_nil=False, current_batch=batch, updated_at=timezone.now()
    )
    batch.imported_rows = stored
    batch.replaced_rows = replaced
    skipped = f"，跳过有错误的 {result.error_row_count} 行" if result.error_count else ""
    if append:
        message = f"追加导入 {stored} 条记录{skipped}，本类别现共 {total} 条。"
    else:
        replaced_msg = f"，替换了此前导入的 {replaced} 条" if replaced else ""
        message = f"成功导入 {stored} 条记录{skipped}{replaced_msg}。"
    return _finish(batch, Status.SUCCEEDED, message=message, action=AuditEvent.Action.IMPORTED)


def _rows_to_store(result, rows, keep_valid_rows):
    """Valid rows to write; once the file is known to be rejected, keep checking but stop writing."""
    if keep_valid_rows:
        return rows
    return (row for row in rows if not result.error_count)


def file_validate(*, path, name, report, category, progress=None, mode=Mode.REPLACE):
    """Inspect, read and validate a whole file against the category's schema.  Stores nothing."""
    result, rows = _open(path=Path(path), name=name, report=report, category=category, progress=progress,
                         mode=mode)
    result.rows = list(rows)
    return result


def _file_open(*, batch, progress):
    return _open(path=Path(batch.file.path), name=batch.original_name, report=batch.report,
                 category=batch.category, progress=progress, mode=batch.mode, sheet=batch.sheet)


def _open(*, path, name, report, category, progress=None, mode=Mode.REPLACE, sheet=""):
    """Refuse a bad file now; return (result, generator of valid rows) for a good one."""
    kind = inspect_upload(path, name, Limits.from_settings())
    schema = category.get_schema()
    total, table = _table(path, kind, schema, sheet)
    existing = frozenset()
    if schema.doc_number_key:
        existing = _StoredDocNumbers(report=report, category=category, append=mode == Mode.APPEND)
    return validation_start(schema, table, existing_doc_numbers=existing, today=timezone.localdate(),
                            progress=progress, total=total, synonyms=synonyms_current())


def _table(path, kind, schema, sheet=""):
    """(rows, iterator of (Excel row number, cells)) of the named sheet, or of the sheet whose header matches."""
    if sheet:
        found = next(((total, rows) for name, total, rows in iter_sheets(path) if name == sheet), None)
        if found is None:
            raise UploadRefused(f"工作簿中找不到工作表“{sheet}”。")
        return found
    _, total, table = iter_table(path, kind, choose=lambda head: header_score(schema, head))
    return total, table


def batch_table(batch):
    """The rows of a stored upload, read as its import read them (for the error report)."""
    kind = "csv" if batch.original_name.lower().endswith(".csv") else "xlsx"
    return _table(Path(batch.file.path), kind, batch.category.get_schema(), batch.sheet)[1]


def synonyms_current():
    """The spellings of enumerated values as the administrators keep them (ValueSynonym)."""
    return synonyms_map(ValueSynonym.objects.values_list("field", "spelling", "canonical"))


class _StoredDocNumbers:
    """文书号 the unit already stored for the category, for the validator's duplicate check.

    Replacing: those of other months (this month's rows are about to be replaced).  Appending: this
    month's too.  Usually loaded once; a unit with years of large uploads (more than LOAD_ALL_BELOW
    numbers) is asked a block of the file's numbers at a time instead, through the (unit, category,
    文书号) index, so memory stays flat.  On PostgreSQL those questions go over a second connection:
    the import's own connection is busy with the COPY while the file is being checked.
    """

    LOAD_ALL_BELOW = 200_000

    def __init__(self, *, report, category, append=False):
        self.params = [report.unit_id, category.pk, -1 if append else report.pk]
        self.queryset = Record.objects.filter(unit_id=report.unit_id, category=category).exclude(doc_number="")
        if append:
            self.message = "文书号“{doc}”已在本单位本类别报送过（含本月已导入的记录），不能重复报送"
        else:
            self.queryset = self.queryset.exclude(report=report)
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


class _Liveness:
    """Progress and heartbeat of a running import, visible while its transaction is still open.

    On PostgreSQL they go through a second, autocommit connection, which also holds an advisory lock
    on the batch for as long as this process lives: imports_sweep takes a free lock as proof that the
    process died.  Elsewhere (SQLite, one writer at a time) through the ORM.
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
                with self.side.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_lock(%s, %s)", [IMPORT_LOCK_CLASS, self.batch_id])
            except psycopg2.Error:
                self.side = None
        return self

    def __call__(self, done, total):
        value = min(95, 5 + int(85 * done / max(total, 1)))
        now = timezone.now()
        if self.side is None:
            ImportBatch.objects.filter(pk=self.batch_id).update(progress=value, heartbeat_at=now)
            return
        with self.side.cursor() as cursor:
            cursor.execute(f"UPDATE {ImportBatch._meta.db_table} SET progress = %s, heartbeat_at = %s WHERE id = %s",
                           [value, now, self.batch_id])

    def __exit__(self, *exc):
        if self.side is not None:
            self.side.close()  # releases the advisory lock
        return False


def _finish(batch, status, *, message, action):
    batch.status = status
    batch.message = message
    batch.progress = 100
    batch.finished_at = timezone.now()
    if status in (Status.SUCCEEDED, Status.FAILED):
        # "First upload" (合规率) is the first upload of the month's category whose rows were checked to the
        # end: an interrupted run or a refused file does not take the place of the one that finished.
        batch.is_first_upload = not ImportBatch.objects.filter(
            report__unit_id=batch.report.unit_id, report__period=batch.report.period, category=batch.category,
            status__in=(Status.SUCCEEDED, Status.FAILED),
        ).exclude(pk=batch.pk).exists()
    batch.save()
    audit(action=action, user=batch.user, report=batch.report, category=batch.category, batch=batch,
          message=f"{batch.original_name}：{message}", file=batch.original_name, sha256=batch.sha256,
          rows=batch.imported_rows, total_rows=batch.total_rows, errors=batch.error_count,
          replaced=batch.replaced_rows, mode=batch.mode, sheet=batch.sheet)
    return batch


# --- jobs whose process died -----------------------------------------------------------


INTERRUPTED_MESSAGE = "处理中断：处理这个文件的进程意外退出，没有导入任何数据。请重新上传该文件。"


def batch_is_stalled(batch, *, now=None):
    """True when a running batch has given no sign of life for IMPORT_STALE_SECONDS (read-only, for pages)."""
    if batch.status not in (Status.PENDING, Status.RUNNING):
        return False
    now = now or timezone.now()
    last = batch.heartbeat_at or batch.created_at
    return (now - last).total_seconds() > settings.IMPORT_STALE_SECONDS


def imports_sweep(*, now=None):
    """Find imports whose process died; run background ones again (bounded), mark the others interrupted.

    A running batch is dead when its advisory lock is free (PostgreSQL: the process that held it is
    gone), or when its heartbeat is older than IMPORT_STALE_SECONDS; a pending background batch that
    no worker took within IMPORT_PENDING_SECONDS (lost with the broker) is enqueued again.
    Returns {"redispatched": [...ids], "interrupted": [...ids]}.
    """
    now = now or timezone.now()
    done = {"redispatched": [], "interrupted": []}
    pending_before = now - timezone.timedelta(seconds=settings.IMPORT_PENDING_SECONDS)
    for batch in ImportBatch.objects.filter(status=Status.PENDING, background=True, created_at__lt=pending_before):
        _enqueue_later(batch.pk)
        done["redispatched"].append(batch.pk)
    for batch in ImportBatch.objects.filter(status=Status.RUNNING):
        if not _is_dead(batch, now):
            continue
        if batch.background and batch.attempts < settings.IMPORT_MAX_ATTEMPTS:
            stale = now - timezone.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 1)
            # Back to pending (nobody runs it): the next claim takes it at once.
            if ImportBatch.objects.filter(pk=batch.pk, status=Status.RUNNING).update(
                    status=Status.PENDING, heartbeat_at=stale):
                _enqueue_later(batch.pk)
                done["redispatched"].append(batch.pk)
            continue
        if ImportBatch.objects.filter(pk=batch.pk, status=Status.RUNNING).update(
                status=Status.INTERRUPTED, message=INTERRUPTED_MESSAGE, progress=100, finished_at=now):
            batch.refresh_from_db()
            audit(action=AuditEvent.Action.IMPORT_FAILED, user=batch.user, report=batch.report,
                  category=batch.category, batch=batch, message=f"{batch.original_name}：{INTERRUPTED_MESSAGE}",
                  file=batch.original_name, attempts=batch.attempts)
            done["interrupted"].append(batch.pk)
    return done


def _enqueue_later(batch_id):
    transaction.on_commit(lambda: _enqueue(batch_id))


def _is_dead(batch, now):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [IMPORT_LOCK_CLASS, batch.pk])
            free = cursor.fetchone()[0]
            if free:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [IMPORT_LOCK_CLASS, batch.pk])
        # A batch claimed a moment ago may not hold its lock yet: give it a few seconds.
        started = batch.heartbeat_at or batch.started_at or batch.created_at
        return free and (now - started).total_seconds() > 10
    return batch_is_stalled(batch, now=now)


# --- storing rows --------------------------------------------------------------------


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


