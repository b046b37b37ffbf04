"""National-format export (归集): accepted licenses or penalties of a range of months, all units, one file.

`export_disclosure(...)` is the one entry point (the CLI and the office page are doors to it):

- **What**: records of `category` in reports that are accepted (已通过) now, for months `period_from`
  to `period_through`, every unit; ordered by month, unit code, row number, record id.
- **How**: the standard's layout (exports.national): its field codes (or Chinese names) as headers,
  its code values, empty columns for the fields we do not hold; CSV (UTF-8, no BOM) or xlsx.
- **Reproducible**: the same data give the same bytes (no timestamps in the file, fixed zip dates);
  the run's SHA-256 is logged.
- **Log**: an ExportRun row, and its ledger (ExportLedger): per unit and month, the 文书号 and content
  keys of the records that went out, as two lists (about 800 rows for a million records): what
  `since_last` reads.
- **since_last**: a record goes out when its identity (unit + category + 文书号, unique per unit and
  category) has never gone out, or its content differs from what went out last for that identity
  (a month reopened and corrected goes out again: its corrected records only).  A record that went
  out and has since been deleted (no record with that identity exists any more, in any month) is *withdrawn*: it
  cannot be in the file (the layout has no deletion mark), so it is counted on the run, written to
  the ledger with no content key, and listed by the CLI; if it comes back it goes out again.
  Records of a month that is reopened right now are neither sent nor withdrawn: they wait (a unit's
  withdrawals wait while any of its months is reopened: _withdrawn).
- **Consistency**: one REPEATABLE READ snapshot for the whole run, and a PostgreSQL advisory lock per
  category, so two exports of a category run one after the other (the second sees the first's ledger).
  The file is written under a temporary name and renamed into place before the log commits: a failed
  run leaves no file and no log, and a file is never logged without existing.
- **Streamed**: on PostgreSQL, worker processes convert tasks of consecutive records, each reading in the
  export's snapshot, and this process writes their results strictly in order (_parallel).  Otherwise
  (SQLite, --since-last, a caller's transaction) a server-side cursor per report, fetched ahead by a
  second thread on PostgreSQL, and rows converted here while another thread hashes (CSV) or deflates
  (xlsx) and writes.  Either way the ledger is written as the export goes.  Memory stays flat.
  (Building the rows in SQL instead — json_to_record, COPY … CSV — was measured slower: PostgreSQL
  parses JSON several times slower than orjson.)
"""

import collections
import datetime
import decimal
import hashlib
import itertools
import multiprocessing
import operator
import os
import pickle
import queue
import re
import shutil
import struct
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from operator import getitem, methodcaller
from pathlib import Path

import orjson
import psycopg2
import psycopg2.extensions
from django.db import DatabaseError, connection, transaction

from reporting.exports import sanitize_csv
from reporting.models import AuditEvent, Category, MonthlyReport, Record, ReportStatus

from . import fast, national, xlsx
from .models import ExportLedger, ExportRun
from .xlsx import StreamingWorkbook

FORMATS = ("csv", "xlsx")
HEADER_STYLES = ("code", "zh")
FETCH_ROWS = 2000
READ_ROWS = 5000
LEDGER_ROWS = 5000
WITHDRAWN_LISTED = 1000
_LOCK_NAMESPACE = 0x4558  # "EX"

# A value starting with a formula character, seen in a record's JSON text (tab and CR escaped):
# only such rows go through the per-cell sanitiser.
_FORMULA_IN_JSON = re.compile(r'":"(?:[=+\-@]|\\[tr])')
# Text that needs XML escaping or care (escapes of any kind, markup characters).
_NOT_PLAIN_XML = re.compile(r"[&<>\\]")


class ExportError(Exception):
    """A refused export; the message is Chinese and meant for the user."""


@dataclass
class ExportResult:
    run: ExportRun
    rows: int
    path: Path
    withdrawn: list = field(default_factory=list)  # the first WITHDRAWN_LISTED as {"unit", "period", "doc_number"}


def export_disclosure(*, category, period_from, period_through, fmt, path, headers="code", since_last=False,
                      user=None):
    """Write the export to `path` and log it; returns an ExportResult.  Raises ExportError for bad arguments."""
    layout = _layout(category)
    period_from, period_through = period_from.replace(day=1), period_through.replace(day=1)
    if period_from > period_through:
        raise ExportError(f"起始月份（{period_from:%Y-%m}）不能晚于截止月份（{period_through:%Y-%m}）。")
    if fmt not in FORMATS:
        raise ExportError(f"不支持的格式“{fmt}”，应为 csv 或 xlsx。")
    if headers not in HEADER_STYLES:
        raise ExportError(f"不支持的表头方式“{headers}”，应为 code（字段代码）或 zh（中文字段名）。")
    path = Path(path).resolve()
    if not path.parent.is_dir():
        raise ExportError(f"输出目录不存在：{path.parent}")
    if path.is_dir():
        raise ExportError(f"输出文件“{path}”是一个目录，请给出文件名。")
    category_obj = Category.objects.get(code=layout.category)
    started = time.monotonic()
    with _category_lock(category_obj.pk), _snapshot() as own_snapshot:
        reports = list(
            MonthlyReport.objects.filter(status=ReportStatus.ACCEPTED, period__gte=period_from,
                                         period__lte=period_through)
            .order_by("period", "unit__code").values_list("pk", "unit_id", "period")
        )
        if since_last:
            _latest_state_table(category_obj.pk)
        withdrawn = _withdrawn(category_obj.pk) if since_last else []
        # Worker processes sharing the snapshot: only a snapshot of ours (a caller's transaction may hold rows
        # other sessions cannot see) and without --since-last (its state table is this session's).
        parallel = (own_snapshot and not since_last and WORKERS > 1 and bool(reports)
                    and not multiprocessing.current_process().daemon)  # (a daemonic process may not fork workers)
        run_fields = dict(category=category_obj, period_from=period_from, period_through=period_through, format=fmt,
                          headers=headers, since_last=since_last, withdrawn=len(withdrawn), file_name=str(path),
                          user=user)
        tmp = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False)
        try:
            run = ExportRun.objects.create(**run_fields, rows=0, sha256="", size=0)
            with tmp:
                if parallel:
                    rows, digest, logged = _parallel(tmp, layout, fmt, layout.headers(headers), reports,
                                                     category_obj.pk, run.pk)
                else:
                    total = _count(reports, category_obj.pk, since_last) if fmt == "xlsx" else None
                    chunks = _chunks(reports, category_obj.pk, since_last, binary=fmt == "csv")
                    rows, digest, logged = _write(tmp, layout, fmt, headers, chunks, total, run.pk)
            size = os.path.getsize(tmp.name)
            _withdrawals_write(run.pk, withdrawn)
            if rows is not None and logged != rows:
                raise RuntimeError(f"export wrote {rows} rows but logged {logged}")
            run.rows = rows = logged
            run.sha256, run.size = digest, size
            run.seconds = round(time.monotonic() - started, 3)
            run.save(update_fields=["rows", "sha256", "size", "seconds"])
            if since_last:
                _drop_state_table()
            os.replace(tmp.name, path)
        except BaseException:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    listed = [{"unit": unit, "period": period.strftime("%Y-%m"), "doc_number": doc}
              for _, unit, period, doc in withdrawn[:WITHDRAWN_LISTED]]
    return ExportResult(run=run, rows=rows, path=path, withdrawn=listed)


def _layout(category):
    try:
        return national.LAYOUTS[category]
    except KeyError:
        raise ExportError(f"不支持的类别“{category}”，应为 admin_license（行政许可）或 admin_penalty（行政处罚）。") from None


# --- reading ----------------------------------------------------------------------------


@contextmanager
def _category_lock(category_id):
    """Exports of one category run one at a time (PostgreSQL); taken before the snapshot, as in rankings."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, category_id])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, category_id])
        except DatabaseError:
            connection.close()  # the lock ends with the session


@contextmanager
def _snapshot():
    """One transaction; on PostgreSQL one REPEATABLE READ snapshot (unless a caller's transaction is open).
    Yields True when the snapshot is ours (PostgreSQL, no caller's transaction): then other sessions can share it."""
    outer = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        elif connection.vendor == "sqlite":
            _sqlite_functions()
        yield connection.vendor == "postgresql" and not outer


def _content_key_sql(legacy=False):
    """SQL for a record's content key: the first 64 bits of SHA-256(data), signed (content_key in Python);
    `legacy`: of MD5(data), as runs logged before SHA-256 have them (legacy_content_key)."""
    if connection.vendor == "postgresql":
        if legacy:
            return "('x' || substr(md5(r.data), 1, 16))::bit(64)::bigint"
        return "('x' || encode(substr(sha256(convert_to(r.data, 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint"
    return "export_content_key_md5(r.data)" if legacy else "export_content_key(r.data)"


def content_key(data_text):
    """A record's content key (ExportLedger): the first 64 bits of the SHA-256 of its JSON text, signed.
    (SHA-256 rather than MD5: twice as fast here, in Python and in PostgreSQL, with the CPU's SHA
    instructions.)"""
    return int.from_bytes(hashlib.sha256(data_text.encode()).digest()[:8], "big", signed=True)


def legacy_content_key(data_text):
    """The content key of runs logged before (ExportRun.content_hash "md5"): MD5's first 64 bits, signed."""
    return int.from_bytes(hashlib.md5(data_text.encode()).digest()[:8], "big", signed=True)


def _sqlite_functions():
    connection.ensure_connection()
    connection.connection.create_function("export_content_key", 1, content_key, deterministic=True)
    connection.connection.create_function("export_content_key_md5", 1, legacy_content_key, deterministic=True)


def _changed(since_last):
    """A record goes out unless its identity's last entry has its content key (by that run's hash)."""
    if not since_last:
        return ""
    return (f" AND NOT EXISTS (SELECT 1 FROM export_latest s WHERE s.unit_id = r.unit_id"
            f" AND s.doc_number = r.doc_number AND s.content_key = "
            f"CASE WHEN s.legacy THEN {_content_key_sql(legacy=True)} ELSE {_content_key_sql()} END)")


def _count(reports, category_id, since_last):
    """How many records _records will give (the same snapshot): an xlsx states its sheets' sizes up front."""
    sql = (f"SELECT COUNT(*) FROM {Record._meta.db_table} r WHERE r.report_id = %s AND r.category_id = %s"
           f"{_changed(since_last)}")
    total = 0
    with connection.cursor() as cursor:
        for report_id, _, _ in reports:
            cursor.execute(sql, [report_id, category_id])
            total += cursor.fetchone()[0]
    return total


def _chunks(reports, category_id, since_last, binary=False):
    """(unit_id, period, rows) chunks of every record to export, in order; rows are (doc_number, data JSON
    text, content key) tuples, the data as UTF-8 bytes when `binary` (else str)."""
    if connection.vendor == "postgresql":
        yield from _streamed_chunks(reports, category_id, since_last, binary)
        return
    query = (f"SELECT r.doc_number, r.data, {_content_key_sql()} FROM {Record._meta.db_table} r "
             f"WHERE r.report_id = %s AND r.category_id = %s{_changed(since_last)} ORDER BY r.row_number, r.id")
    for report_id, unit_id, period in reports:
        with connection.chunked_cursor() as cursor:
            cursor.execute(query, [report_id, category_id])
            while chunk := cursor.fetchmany(FETCH_ROWS):
                if binary:
                    chunk = [(doc, data.encode(), key) for doc, data, key in chunk]
                yield unit_id, period, chunk


def _streamed_chunks(reports, category_id, since_last, binary):
    """PostgreSQL: the records read ahead by a second thread, a server-side cursor per report.

    Read in the converting thread, each FETCH left the server idle while a chunk was converted, and
    the converter idle while the server read the next (half of a million-row export).  The reading
    thread fetches the next chunk meanwhile (psycopg2 releases the GIL while it waits) and hands
    chunks over a bounded queue.  (COPY … TO STDOUT calls back into Python for every row: slower.)
    """
    reader = _Reader(connection.connection, reports, category_id, since_last, binary)
    reader.start()
    try:
        while (chunk := reader.chunks.get()) is not None:
            yield chunk
        if reader.error is not None:
            raise reader.error
    finally:
        reader.stop()


class _Reader(threading.Thread):
    """Fetches the reports' records on the export's connection (the main thread does not use it
    meanwhile) and queues (unit_id, period, rows) chunks, then None."""

    def __init__(self, raw_connection, reports, category_id, since_last, binary=False):
        super().__init__(name="export-read", daemon=True)
        self.raw, self.reports, self.category_id, self.binary = raw_connection, reports, category_id, binary
        self.query = (f"SELECT r.doc_number, r.data, {_content_key_sql()} FROM {Record._meta.db_table} r "
                      f"WHERE r.report_id = %s AND r.category_id = %s{_changed(since_last)} "
                      f"ORDER BY r.row_number, r.id")
        self.chunks = queue.Queue(maxsize=4)
        self.error = None
        self.stopped = False

    def run(self):
        try:
            for n, (report_id, unit_id, period) in enumerate(self.reports):
                if self.stopped:
                    break
                with self.raw.cursor(name=f"export_records_{n}") as cursor:
                    if self.binary:  # text as the UTF-8 bytes the server sends: no decoding
                        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor)
                    cursor.execute(self.query, [report_id, self.category_id])
                    while not self.stopped and (rows := cursor.fetchmany(READ_ROWS)):
                        self.chunks.put((unit_id, period, rows))
        except BaseException as exc:  # raised in the main thread
            self.error = exc
        finally:
            self.chunks.put(None)

    def stop(self):
        self.stopped = True
        while self.is_alive():  # unblock a full queue
            try:
                self.chunks.get(timeout=0.1)
            except queue.Empty:
                pass
        self.join()


def _latest_state_table(category_id):
    """export_latest: per identity (unit, 文书号) its last ledger entry in the category — what the platform has."""
    ledger, runs = ExportLedger._meta.db_table, ExportRun._meta.db_table
    if connection.vendor == "postgresql":  # the ledger's lists unnested, in memory (this transaction only)
        # (文书号 in the records' own collation, "C": the join below compares them through the index)
        temp, doc, key = " ON COMMIT DROP", 'e.doc COLLATE "C"', "e.ckey"
        entries = "CROSS JOIN LATERAL unnest(l.doc_numbers, l.content_keys) AS e(doc, ckey)"
    else:  # SQLite: the lists are JSON arrays
        temp, doc, key = "", "d.value", "k.value"
        entries = "JOIN json_each(l.doc_numbers) d JOIN json_each(l.content_keys) k ON k.key = d.key"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute("DROP TABLE IF EXISTS export_latest")
        cursor.execute(
            f"CREATE TEMP TABLE export_latest{temp} AS "
            f"SELECT unit_id, doc_number, period, content_key, legacy FROM ("
            f"  SELECT l.unit_id, {doc} AS doc_number, l.period, {key} AS content_key, "
            f"         run.content_hash = 'md5' AS legacy, "
            f"         ROW_NUMBER() OVER (PARTITION BY l.unit_id, {doc} ORDER BY l.run_id DESC, l.id DESC) AS newest "
            f"  FROM {ledger} l JOIN {runs} run ON run.id = l.run_id {entries} "
            f"  WHERE run.category_id = %s"
            f") s WHERE newest = 1",
            [category_id],
        )
        cursor.execute("CREATE INDEX export_latest_identity ON export_latest (unit_id, doc_number)")
        cursor.execute("ANALYZE export_latest")


def _drop_state_table():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS export_latest")


def _withdrawn(category_id):
    """Identities that went out (and were not withdrawn since) of which no record exists any more: deleted by a
    correction.  [(unit_id, unit code, period, 文书号)] in month, unit, 文书号 order; the period is the month the
    identity last went out from.

    Category-wide, whatever the months exported (as --since-last is): an unchanged record moved to another
    month does not go out again, so the month it was last sent from is not where it was deleted.  And not while
    the unit has a month reopened right now (not accepted, reopened before): the deletion may be part of a
    correction still under way, and a reopened month's records wait until it is accepted again.
    """
    records, reports = Record._meta.db_table, MonthlyReport._meta.db_table
    events = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.unit_id, u.code, s.period, s.doc_number FROM export_latest s "
            f"JOIN reporting_unit u ON u.id = s.unit_id "
            f"WHERE s.content_key IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {records} r WHERE r.unit_id = s.unit_id AND r.category_id = %s "
            f"                AND r.doc_number = s.doc_number) "
            f"AND NOT EXISTS (SELECT 1 FROM {reports} m WHERE m.unit_id = s.unit_id AND m.status <> %s "
            f"                AND EXISTS (SELECT 1 FROM {events} a WHERE a.report_id = m.id AND a.action = %s)) "
            f"ORDER BY s.period, u.code, s.doc_number",
            [category_id, ReportStatus.ACCEPTED, AuditEvent.Action.REOPENED],
        )
        return [(unit_id, code, _as_date(period), doc) for unit_id, code, period, doc in cursor.fetchall()]


def _as_date(value):
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


# --- converting -------------------------------------------------------------------------


class _Converter:
    """A record's stored values (JSON text) as the standard's row: codes mapped, amounts plain, blanks for
    fields we do not hold."""

    _BLANK = "\x00blank"  # a key no schema has: the columns we do not hold read it

    def __init__(self, layout):
        self.keys = [c.key or self._BLANK for c in layout.columns]
        self.pick = operator.itemgetter(*self.keys)
        self.coded = [(i, c.codes) for i, c in enumerate(layout.columns) if c.kind == national.CODE]
        self.amounts = [i for i, c in enumerate(layout.columns) if c.kind == national.AMOUNT]

    def __call__(self, data):
        data[self._BLANK] = ""
        try:
            row = list(self.pick(data))
        except KeyError:  # a record stored before a field was added to its schema
            row = [data.get(key, "") for key in self.keys]
        for i, codes in self.coded:
            value = row[i]
            if value:
                row[i] = codes.get(value, value)
        for i in self.amounts:
            row[i] = amount_text(row[i])
        return row


def amount_text(value):
    """An amount as a plain decimal (0.5, 12, 0.000001): never an exponent, never a trailing .0."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    number = float(value)
    if number.is_integer():
        return str(int(number))
    text = repr(number)
    return format(decimal.Decimal(text), "f") if "e" in text else text


# --- writing ----------------------------------------------------------------------------


class _Sink(threading.Thread):
    """Hashes and writes byte chunks from its own thread (hashlib and file writes release the GIL)."""

    def __init__(self, fileobj):
        super().__init__(name="export-write", daemon=True)
        self.fileobj = fileobj
        self.sha = hashlib.sha256()
        self.chunks = queue.Queue(maxsize=8)
        self.error = None

    def run(self):
        while (chunk := self.chunks.get()) is not None:
            if self.error is None:
                try:
                    self.sha.update(chunk)
                    self.fileobj.write(chunk)
                except BaseException as exc:
                    self.error = exc

    def put(self, chunk):
        if self.error is not None:
            raise self.error
        self.chunks.put(chunk)

    def close(self):
        self.chunks.put(None)
        self.join()
        if self.error is not None:
            raise self.error
        return self.sha.hexdigest()


class _Ledger:
    """The serial way's ledger: what went out, a chunk (one unit and month) at a time, kept in a temporary
    file while the export reads on the connection, then written as ExportLedger rows (`finish`)."""

    BATCH = 20  # ledger rows per INSERT (a chunk holds up to READ_ROWS records)

    def __init__(self, run_id):
        self.run_id = run_id
        self.file = tempfile.TemporaryFile()
        self.count = 0

    def add_many(self, unit_id, period, chunk):
        """A chunk of rows (文书号, data, content key) of one report."""
        docs = [doc if type(doc) is str else doc.decode() for doc, _, _ in chunk]
        pickle.dump((unit_id, period, docs, [key for _, _, key in chunk]), self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += len(chunk)

    def finish(self):
        """Write the ledger rows; returns how many records they hold."""
        self.file.seek(0)
        batch = []
        while True:
            try:
                unit_id, period, docs, keys = pickle.load(self.file)
            except EOFError:
                break
            batch.append(ExportLedger(run_id=self.run_id, unit_id=unit_id, period=period, count=len(docs),
                                      doc_numbers=docs, content_keys=keys))
            if len(batch) == self.BATCH:
                ExportLedger.objects.bulk_create(batch)
                batch = []
        ExportLedger.objects.bulk_create(batch)
        self.file.close()
        return self.count


def _write(fileobj, layout, fmt, headers, chunks, total, run_id):
    """Write the file and the run's ledger; returns (rows, SHA-256 of the file, records logged)."""
    if fmt == "csv":
        return _write_csv(fileobj, layout, layout.headers(headers), chunks, run_id)
    return _write_xlsx(fileobj, layout, layout.headers(headers), chunks, total, run_id)


def _slow_csv_row(layout):
    """A record's CSV row the per-record way: parsed, converted, sanitised when a value looks like a formula."""
    convert, loads, formula_in = _Converter(layout), orjson.loads, _FORMULA_IN_JSON.search

    def row(data):
        text = data.decode() if isinstance(data, bytes) else data
        values = convert(loads(text))
        return [sanitize_csv(value) for value in values] if formula_in(text) else values

    return row


def _slow_xlsx_row(layout):
    convert, loads = _Converter(layout), orjson.loads
    return lambda data: convert(loads(data))


def _csv_header(header):
    return fast.CsvChunks.line_of(header) + b"\n"


def _write_csv(fileobj, layout, header, chunks, run_id):
    """The serial way (SQLite, a caller's transaction, --since-last): chunks converted here, ledger kept."""
    convert = fast.CsvChunks(layout, _slow_csv_row(layout))
    data_of = operator.itemgetter(1)
    ledger = _Ledger(run_id)
    sink = _Sink(fileobj)
    sink.start()
    rows = 0
    try:
        sink.put(_csv_header(header))
        for unit_id, period, chunk in chunks:
            sink.put(convert(list(map(data_of, chunk))))
            ledger.add_many(unit_id, period, chunk)
            rows += len(chunk)
    finally:
        digest = sink.close()
    return rows, digest, ledger.finish()


def _write_xlsx(fileobj, layout, header, chunks, total, run_id):
    convert = fast.XlsxChunks(layout, _slow_xlsx_row(layout))
    data_of = operator.itemgetter(1)
    ledger = _Ledger(run_id)
    amounts = [i for i, c in enumerate(layout.columns) if c.kind == national.AMOUNT]
    book = StreamingWorkbook(fileobj, sheet_name=layout.name, total_rows=total, numeric=amounts,
                             max_rows=xlsx.MAX_SHEET_ROWS)
    try:
        book.start(header)
        append = book.append
        for unit_id, period, chunk in chunks:
            for row, plain in convert(list(map(data_of, chunk))):
                append(row, plain=plain)
            ledger.add_many(unit_id, period, chunk)
        book.close()
    except BaseException:
        book.abort()
        raise
    fileobj.flush()
    return book.rows, _file_sha256(fileobj.name), ledger.finish()


def _file_sha256(name):
    sha = hashlib.sha256()
    with open(name, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


# --- the CSV in worker processes ----------------------------------------------------------

WORKERS = max(0, int(os.environ.get("EXPORT_WORKERS", "2")))
TASK_ROWS = 4000  # records a worker converts per task (about 4 MB of CSV)
WINDOW = 2 * WORKERS + 2  # tasks handed out and not yet written: bounds memory


def _parallel(fileobj, layout, fmt, header, reports, category_id, run_id):
    """The file converted by WORKERS forked processes, each reading with its own connection in this
    transaction's snapshot (pg_export_snapshot), tasks of consecutive records handed out in order and
    written strictly in order (an xlsx's rows numbered by the workers, deflated here).  The workers also
    give the ledger rows (content keys by hashlib's SHA-256), which this connection COPYs in (binary)
    meanwhile.  Returns (rows, SHA-256 of the file, records the ledger holds)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
    tasks, total = _tasks(reports, category_id)
    tasks = iter(tasks)
    params = connection.get_connection_params()
    # The workers hand their results over in files (one per task, read once and removed): through the pool's
    # pipe, 64 KB at a time and pickled, 1.3 GB of xlsx XML cost this process 5 s of CPU.
    spool = tempfile.mkdtemp(prefix="credit-portal-export-")
    try:
        pool = multiprocessing.get_context("fork").Pool(
            WORKERS, initializer=_worker_start,
            initargs=(params, snapshot, layout.category, category_id, run_id, fmt, xlsx.MAX_SHEET_ROWS, spool))
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise
    ledger = _LedgerCopy(connection.connection)
    if fmt == "csv":
        sink, book = _Sink(fileobj), None
    else:
        amounts = [i for i, c in enumerate(layout.columns) if c.kind == national.AMOUNT]
        sink, book = None, StreamingWorkbook(fileobj, sheet_name=layout.name, total_rows=total, numeric=amounts,
                                             max_rows=xlsx.MAX_SHEET_ROWS)
    rows = 0
    try:
        ledger.start()  # threads only after the fork
        if book is None:
            sink.start()
            sink.put(_csv_header(header))
        else:
            book.start(header)
        window = collections.deque(pool.apply_async(_worker_convert, (task,))
                                   for task in itertools.islice(tasks, WINDOW))
        while window:
            count, path, parts, ledger_size = window.popleft().get()
            if (task := next(tasks, None)) is not None:
                window.append(pool.apply_async(_worker_convert, (task,)))
            view = memoryview(_unspool(path))
            at = 0
            for sheet, size, n in parts:  # a CSV's lines are one part of sheet None
                if book is None:
                    sink.put(view[at:at + size])
                else:
                    book.append_xml(sheet, view[at:at + size], n)
                at += size
            ledger.put(view[at:at + ledger_size].tobytes())
            rows += count
        pool.close()
        if book is not None:
            book.close()
    except BaseException:
        ledger.abort()
        if book is not None:
            book.abort()
        raise
    finally:
        pool.terminate()
        pool.join()
        shutil.rmtree(spool, ignore_errors=True)
        if sink is not None:
            digest = sink.close()
    if book is not None:
        fileobj.flush()
        digest = _file_sha256(fileobj.name)
    ledger.finish()
    with connection.cursor() as cursor:  # the records the ledger holds, as the database has them
        cursor.execute(f"SELECT COALESCE(SUM(count), 0) FROM {ExportLedger._meta.db_table} WHERE run_id = %s",
                       [run_id])
        return rows, digest, cursor.fetchone()[0]


def _tasks(reports, category_id):
    """The records in export order as tasks of about TASK_ROWS, and how many records there are: a task is
    (number of its first record, [(report_id, unit_id, period, from, before)]), where from and before are
    (row_number, id) bounds splitting a large report, or None."""
    records = Record._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r.report_id, COUNT(*) FROM {records} r WHERE r.report_id = ANY(%s) "
                       f"AND r.category_id = %s GROUP BY r.report_id", [[pk for pk, _, _ in reports], category_id])
        counts = dict(cursor.fetchall())
        tasks, task, size, first = [], [], 0, 0
        for report_id, unit_id, period in reports:
            count = counts.get(report_id, 0)
            if not count:
                continue
            if size + count > TASK_ROWS and task:
                tasks.append((first, task))
                task, first, size = [], first + size, 0
            if count <= TASK_ROWS:
                task.append((report_id, unit_id, period, None, None))
                size += count
                continue
            cursor.execute(
                f"SELECT row_number, id FROM (SELECT r.row_number, r.id, ROW_NUMBER() OVER "
                f"(ORDER BY r.row_number, r.id) - 1 AS n FROM {records} r WHERE r.report_id = %s "
                f"AND r.category_id = %s) s WHERE n %% %s = 0 AND n > 0 ORDER BY n",
                [report_id, category_id, TASK_ROWS],
            )
            bounds = [None, *(tuple(b) for b in cursor.fetchall()), None]
            for n, (lower, upper) in enumerate(itertools.pairwise(bounds)):
                tasks.append((first + n * TASK_ROWS, [(report_id, unit_id, period, lower, upper)]))
            first += count
        if task:
            tasks.append((first, task))
    return tasks, first + size


_worker = None  # in a worker process: its cursor, converter, query and run


def _unspool(path):
    """A task's results as the worker wrote them (the file removed)."""
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return data


def _worker_start(params, snapshot, category, category_id, run_id, fmt, max_rows, spool):
    global _worker
    raw = psycopg2.connect(**params)
    raw.set_client_encoding("UTF8")  # the bytes are the text's UTF-8: what content_key hashes
    raw.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
    cursor = raw.cursor()
    cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
    psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor)  # text as the server's UTF-8 bytes
    layout = national.LAYOUTS[category]
    query = (f"SELECT r.doc_number, r.data FROM {Record._meta.db_table} r "
             f"WHERE r.report_id = %s AND r.category_id = {int(category_id)}")
    if fmt == "csv":
        convert = fast.CsvChunks(layout, _slow_csv_row(layout))
    else:
        convert = _XlsxRows(layout, max_rows)
    _worker = (raw, cursor, convert, query, run_id, spool)


_EPOCH = datetime.date(2000, 1, 1)  # PostgreSQL's binary dates count days from it
_KEY_LENGTH = (8).to_bytes(4, "big")
_FIRST_8 = slice(0, 8)
_TEXT_OID, _INT8_OID = 25, 20
_LEDGER_HEAD = struct.Struct(">hiqiqiiii")  # 6 fields: run, unit, period, count (then the two arrays)
_ARRAY_HEAD = struct.Struct(">iiiii")  # dimensions 1, no NULLs, element type, length, lower bound 1


def _ledger_tuple(run_id, unit_id, period, count, doc_elements, key_elements):
    """One ExportLedger row in COPY's binary form (run_id, unit_id, period, count, doc_numbers, content_keys),
    the arrays' elements given already encoded."""
    docs = _ARRAY_HEAD.pack(1, 0, _TEXT_OID, count, 1)
    keys = _ARRAY_HEAD.pack(1, 0, _INT8_OID, count, 1)
    size_docs = len(docs) + sum(map(len, doc_elements))
    size_keys = len(keys) + sum(map(len, key_elements))
    return b"".join([_LEDGER_HEAD.pack(6, 8, run_id, 8, unit_id, 4, (period - _EPOCH).days, 4, count),
                     size_docs.to_bytes(4, "big"), docs, *doc_elements,
                     size_keys.to_bytes(4, "big"), keys, *key_elements])


def _worker_convert(job):
    """In a worker: the task's records converted — CSV lines, or xlsx rows' XML per sheet — and their ledger rows
    (binary COPY tuples), written to a file in the spool directory.  Returns (records, the file, its parts
    [(sheet or None, bytes, rows)] in order, the ledger rows' bytes after them)."""
    _, cursor, convert, query, run_id, spool = _worker
    first, task = job
    parts, ledger, count = [], [], 0
    for report_id, unit_id, period, lower, upper in task:
        sql, args = query, [report_id]
        if lower is not None:
            sql += " AND (r.row_number, r.id) >= (%s, %s)"
            args += lower
        if upper is not None:
            sql += " AND (r.row_number, r.id) < (%s, %s)"
            args += upper
        cursor.execute(sql + " ORDER BY r.row_number, r.id", args)
        doc_elements, key_elements, piece = [], [], 0
        while rows := cursor.fetchmany(FETCH_ROWS):
            docs, datas = zip(*rows, strict=True)
            parts.append(convert(list(datas)) if type(convert) is not _XlsxRows else convert(list(datas), first + count))
            n = len(rows)
            # Array elements in binary: a length, then the 文书号's UTF-8 / the content key (content_key():
            # SHA-256's first 8 bytes, big-endian as a signed bigint is).
            fields = [None, None] * n
            fields[0::2] = map(int.to_bytes, map(len, docs), repeat(4), repeat("big"))
            fields[1::2] = docs
            doc_elements.append(b"".join(fields))
            fields = [_KEY_LENGTH, None] * n
            fields[1::2] = map(getitem, map(methodcaller("digest"), map(hashlib.sha256, datas)), repeat(_FIRST_8))
            key_elements.append(b"".join(fields))
            count += n
            piece += n
        if piece:
            ledger.append(_ledger_tuple(run_id, unit_id, period, piece, doc_elements, key_elements))
    if type(convert) is _XlsxRows:
        blobs = [xml for segments in parts for _, xml, _ in segments]
        described = [(sheet, len(xml), rows) for segments in parts for sheet, xml, rows in segments]
    else:
        blobs = parts
        described = [(None, sum(map(len, parts)), count)]
    entries = b"".join(ledger)
    path = os.path.join(spool, f"{first}")
    with open(path, "wb") as f:  # the results, then the ledger rows
        f.writelines(blobs)
        f.write(entries)
    return count, path, described, len(entries)


_FIVE_EMPTY = [b""] * 5
_XML_ODD = (b"\\", b"&", b"<", b">")  # a record with one of these is rendered the per-record way


class _XlsxRows:
    """In a worker: records' JSON texts (UTF-8 bytes) as xlsx rows' XML (bytes), numbered from a data row on:
    [(sheet, XML, rows)] — byte for byte what StreamingWorkbook.append writes for the rows fast.XlsxChunks
    gives (the serial way).  Worked in bytes from the server's bytes to the XML (no decoding, no encoding):
    the chunk's columns from fast.ChunkConverter, the rows built from them at once.  A record with an
    escape or a character XML must escape (& < >) is rendered the per-record way (row_xml), and so is a
    chunk that is not template-built."""

    def __init__(self, layout, max_rows):
        self.fast = fast.ChunkConverter(layout, binary=True)
        self.slow = fast.XlsxChunks(layout, _slow_xlsx_row(layout))
        self.letters = xlsx.column_letters(len(layout.columns))
        self.numeric = frozenset(i for i, c in enumerate(layout.columns) if c.kind == national.AMOUNT)
        self.per_sheet = max_rows - 1
        # Per column, a cell: '<c r="' letter, n, '" …><t>', value, '</t>…</c>' (a number: '"><v>', value, '</v></c>').
        self.cells = [(f'<c r="{letter}'.encode(), b'"><v>', b"</v></c>") if j in self.numeric else
                      (f'<c r="{letter}'.encode(), b'" t="inlineStr"><is><t>', b"</t></is></c>")
                      for j, letter in enumerate(self.letters)]

    def __call__(self, datas, first):
        segments, per_sheet, at = [], self.per_sheet, 0
        while at < len(datas):  # rows of one sheet at a time
            n = first + at
            count = min(len(datas) - at, per_sheet - n % per_sheet)
            segments.append((n // per_sheet + 1, self._render(datas[at:at + count], n % per_sheet + 2), count))
            at += count
        return segments

    def _render(self, texts, start):
        """Rows numbered from `start` in one sheet, as row_xml gives them."""
        joined = b"\x1f".join(texts)
        odd = fast._records_with(texts, joined, _XML_ODD)
        if odd:
            plain = [i for i in range(len(texts)) if i not in odd]
            joined = b"\x1f".join([texts[i] for i in plain])
        else:
            plain = range(len(texts))
        columns = self.fast.columns([texts[i] for i in plain] if odd else texts, joined) if plain else None
        if columns is None:  # not template-built: every record the per-record way
            return b"".join(self._slow_rows(texts, start, range(len(texts))))
        numbers = [str(start + i).encode() for i in plain]
        flat, stride = self._fast_rows(columns, numbers)
        if not odd:
            return b"".join(flat)
        rows = [b"".join(flat[k * stride:(k + 1) * stride]) for k in range(len(numbers))]
        for i, xml in zip(sorted(odd), self._slow_rows(texts, start, sorted(odd)), strict=True):
            rows.insert(i, xml)
        return b"".join(rows)

    def _fast_rows(self, columns, numbers):
        """The rows' XML as one list of pieces (each row `stride` pieces), to be joined once."""
        count = len(numbers)
        cells = [(j, column) for j, column in enumerate(columns)
                 if any(column)]  # a column with no value has no cell in any of these rows
        template = [b'<row r="', None, b'">']
        for j, _ in cells:
            opening, middle, closing = self.cells[j]
            template += [opening, None, middle, None, closing]
        template.append(b"</row>")
        stride = len(template)
        flat = template * count
        flat[1::stride] = numbers
        for k, (_, column) in enumerate(cells):
            at = 3 + 5 * k
            flat[at + 1::stride] = numbers
            flat[at + 3::stride] = column
            if b"" in column:  # an empty value: no cell
                for i in [i for i, value in enumerate(column) if not value]:
                    flat[i * stride + at:i * stride + at + 5] = _FIVE_EMPTY
        return flat, stride

    def _slow_rows(self, texts, start, which):
        """The XML of the records numbered `which` (positions in `texts`), the serial way's rows and row_xml."""
        pairs = self.slow([texts[i].decode() for i in which])
        return [xlsx.row_xml(self.letters, row, start + i, plain=plain, numeric=self.numeric).encode()
                for i, (row, plain) in zip(which, pairs, strict=True)]


class _LedgerCopy(threading.Thread):
    """A parallel export's ledger COPYd (binary) on the export's connection while the workers convert."""

    HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    TRAILER = b"\xff\xff"

    def __init__(self, raw_connection):
        super().__init__(name="export-ledger", daemon=True)
        self.raw, self.error = raw_connection, None
        self.chunks = queue.Queue(maxsize=WINDOW)
        self.buffer = self.HEADER
        self.aborted = self.drained = False

    def put(self, data):
        if self.error is not None:
            raise self.error
        self.chunks.put(data)

    def read(self, size=-1):
        while not self.buffer:
            chunk = self.chunks.get()
            if chunk is None:
                if self.aborted:
                    self.drained = True
                    raise RuntimeError("export aborted")
                return b""
            self.buffer = chunk
        data, self.buffer = self.buffer, b""
        return data

    readline = read

    def run(self):
        try:
            with self.raw.cursor() as cursor:
                table = ExportLedger._meta.db_table
                cursor.copy_expert(f"COPY {table} (run_id, unit_id, period, count, doc_numbers, content_keys) "
                                   f"FROM STDIN WITH (FORMAT binary)", self, size=1 << 20)
        except BaseException as exc:  # raised in the main thread
            self.error = exc
            while not self.drained and self.chunks.get() is not None:  # unblock the producer until it stops
                pass

    def abort(self):
        self.aborted = True
        self.chunks.put(None)
        self.join()

    def finish(self):
        self.chunks.put(self.TRAILER)
        self.chunks.put(None)
        self.join()
        if self.error is not None:
            raise self.error


# --- the log ----------------------------------------------------------------------------


def _withdrawals_write(run_id, withdrawn):
    """Ledger rows for the records withdrawn in this run (content key None), one per unit and month."""
    groups = {}
    for unit_id, _, period, doc in withdrawn:
        groups.setdefault((unit_id, period), []).append(doc)
    ExportLedger.objects.bulk_create(
        [ExportLedger(run_id=run_id, unit_id=unit_id, period=period, count=len(docs), doc_numbers=docs,
                      content_keys=[None] * len(docs)) for (unit_id, period), docs in groups.items()],
        batch_size=_Ledger.BATCH,
    )


def ledger_entries(run):
    """What a run's ledger says went out: [(unit_id, period, 文书号, content key or None)], in ledger order."""
    return [(part.unit_id, part.period, doc, key)
            for part in ExportLedger.objects.filter(run=run).order_by("id") for doc, key in part.entries()]


# --- exports started from the office's page ----------------------------------------------


def export_request(*, user, category, period_from, period_through, fmt, headers="code", since_last=False):
    """Check the arguments now (ExportError in Chinese) and record a background export job."""
    from credit_portal import jobs

    from .models import ExportJob

    layout = _layout(category)
    period_from, period_through = period_from.replace(day=1), period_through.replace(day=1)
    if period_from > period_through:
        raise ExportError(f"起始月份（{period_from:%Y-%m}）不能晚于截止月份（{period_through:%Y-%m}）。")
    if fmt not in FORMATS or headers not in HEADER_STYLES:
        raise ExportError("请选择格式（csv 或 xlsx）和表头方式（字段代码或中文字段名）。")
    return jobs.job_request(ExportJob, user=user, category=Category.objects.get(code=layout.category),
                            period_from=period_from, period_through=period_through, format=fmt, headers=headers,
                            since_last=since_last)


def export_job_run(*, job_id):
    """Run a recorded export job into MEDIA_ROOT/exports/ (safe to call twice: the job is claimed once)."""
    from django.conf import settings

    from credit_portal import jobs

    from .models import ExportJob

    def work(job):
        layout = national.LAYOUTS[job.category.code]
        changed = "-变化" if job.since_last else ""
        name = f"{layout.name}{changed}-{job.period_from:%Y%m}-{job.period_through:%Y%m}-{job.pk}.{job.format}"
        folder = Path(settings.MEDIA_ROOT) / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        result = export_disclosure(category=job.category.code, period_from=job.period_from,
                                   period_through=job.period_through, fmt=job.format, headers=job.headers,
                                   since_last=job.since_last, path=folder / name, user=job.user)
        ExportJob.objects.filter(pk=job.pk).update(run=result.run, file=f"exports/{name}")
        withdrawn = f"，另有 {result.run.withdrawn} 条此前导出的记录已被删除" if result.run.withdrawn else ""
        return f"已导出 {result.rows} 条{withdrawn}。"

    return jobs.job_run(ExportJob, job_id, work)
