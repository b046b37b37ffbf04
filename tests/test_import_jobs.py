"""Imports whose process dies: found, marked or run again; a retry works; nothing is stuck "处理中" for ever.

The importing process holds a PostgreSQL advisory lock on its batch for its whole run, so a free
lock proves it is gone.  These tests kill real processes: the CLI, and a Celery worker on Redis.
"""

import datetime
import os
import signal
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from reporting import imports, services
from reporting.models import AuditEvent, Category, Deadline, ImportBatch, Record, Unit

from .factories import period, records, xlsx_bytes
from .worker import ROOT, Worker, database_url, publishing_to, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
LICENSE = "admin_license"


@pytest.fixture
def month(users):
    later = timezone.localdate() + datetime.timedelta(days=30)
    Deadline.objects.create(period=period(), due_date=later, lock_date=later)
    return services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period())


def _cli(media_root, *args, slow=0.0):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "credit_portal.settings",
           "DATABASE_URL": database_url(connection.settings_dict), "MEDIA_ROOT": str(media_root),
           "PYTHONPATH": str(ROOT)}
    env.pop("CELERY_BROKER_URL", None)
    return subprocess.Popen([sys.executable, "-m", "tests.slow_import", str(slow), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _running_batch():
    return ImportBatch.objects.filter(status=ImportBatch.Status.RUNNING).first()


def test_a_killed_import_is_marked_interrupted_and_a_retry_succeeds(month, tmp_path, media_root):
    path = tmp_path / "许可.xlsx"
    path.write_bytes(xlsx_bytes("license", records("license", 40)))
    args = ["--unit", "D01", "--period", "2019-08", "--category", LICENSE, str(path)]
    process = _cli(media_root, *args, slow=60)
    try:
        assert wait_for(lambda: _running_batch() is not None, timeout=30), process.stderr.read1().decode()
        wait_for(lambda: False, timeout=1.0)  # let it take its lock
        killed = _running_batch()
        # Alive: the sweep leaves it alone.
        assert imports.imports_sweep(now=timezone.now() + datetime.timedelta(seconds=30))["interrupted"] == []
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert wait_for(lambda: imports.imports_sweep(now=timezone.now() + datetime.timedelta(seconds=30))[
        "interrupted"] == [killed.pk] or ImportBatch.objects.get(pk=killed.pk).status == "interrupted", timeout=10)
    killed.refresh_from_db()
    assert killed.status == ImportBatch.Status.INTERRUPTED
    assert "处理中断" in killed.message and killed.is_finished
    assert not Record.objects.exists()
    assert AuditEvent.objects.filter(batch=killed, action=AuditEvent.Action.IMPORT_FAILED).exists()

    call_command("import_records", *args)
    retry = ImportBatch.objects.exclude(pk=killed.pk).get()
    assert retry.status == ImportBatch.Status.SUCCEEDED
    assert Record.objects.count() == 40
    # 合规率 counts the first upload that finished: the retry, not the interrupted run.
    assert (retry.is_first_upload, ImportBatch.objects.get(pk=killed.pk).is_first_upload) == (True, False)


def test_a_stalled_batch_stops_polling_without_any_write(client, month, users):
    category = Category.objects.get(code=LICENSE)
    batch = ImportBatch.objects.create(report=month, category=category, user=users["dept"], original_name="x.xlsx",
                                       sha256="0" * 64, status=ImportBatch.Status.RUNNING,
                                       heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(users["dept"])
    page = client.get(f"/imports/{batch.pk}/").content.decode()
    assert "处理中断" in page and "hx-trigger" not in page
    assert client.get(f"/imports/{batch.pk}/progress/")["HX-Refresh"] == "true"
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.RUNNING  # a GET wrote nothing; the sweep will


@pytest.mark.redis
def test_a_background_import_whose_worker_died_finishes_after_a_new_worker_starts(month, tmp_path, media_root,
                                                                                 settings):
    """The whole worker is SIGKILLed mid-import; the next worker's beat sweep finds the free lock and runs it again."""
    import time

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.UPLOAD_BACKGROUND_BYTES = 0
    sweep = {"JOBS_SWEEP_SECONDS": "1"}
    db = database_url(connection.settings_dict)
    first = Worker(broker_url=BROKER, database_url=db, media_root=media_root, log_path=tmp_path / "worker.log",
                   env={**sweep, "CREDIT_PORTAL_SLOW_IMPORT": "60"}).start()
    path = tmp_path / "许可.xlsx"
    path.write_bytes(xlsx_bytes("license", records("license", 25)))
    second = None
    try:
        with publishing_to(BROKER) as app, open(path, "rb") as f:
            app.control.purge()
            batch = imports.batch_create(report=month, category=Category.objects.get(code=LICENSE), fileobj=f,
                                         name="许可.xlsx", user=None)
            assert batch.background
            imports.batch_dispatch(batch)  # autocommit: enqueued at once
            assert wait_for(lambda: _running_batch() is not None, timeout=30), first.read_log()[-2000:]
            first.kill()  # parent and pool: the message stays unacknowledged in Redis for visibility_timeout
            assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.RUNNING
            started = time.monotonic()
            second = Worker(broker_url=BROKER, database_url=db, media_root=media_root,
                            log_path=tmp_path / "worker2.log", env=sweep, beat=True).start()
            assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).is_finished, timeout=60), \
                second.read_log()[-3000:]
            elapsed = time.monotonic() - started
    finally:
        first.stop()
        if second is not None:
            second.stop()
        # The killed worker's message is still "unacked" in Redis: leave no work behind for later tests' workers.
        import redis

        redis.Redis.from_url(BROKER).flushdb()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.message
    assert batch.attempts == 2
    assert Record.objects.count() == 25
    assert elapsed < 45  # a free lock is dead after 10 s; swept every second


def test_two_identical_uploads_at_once_import_once(month, tmp_path, users):
    """Both pass their checks; the duplicate test runs under the report's lock, so the second one sees the first."""
    import threading

    content = xlsx_bytes("license", records("license", 20))
    category = Category.objects.get(code=LICENSE)
    batches = []
    for n in range(2):
        path = tmp_path / f"same{n}.xlsx"
        path.write_bytes(content)
        with open(path, "rb") as f:
            batches.append(imports.batch_create(report=month, category=category, fileobj=f, name=path.name,
                                                user=users["dept"]))
    barrier, results = threading.Barrier(2), []

    def run(batch):
        try:
            barrier.wait(5)
            results.append(imports.records_import(batch_id=batch.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [ImportBatch.Status.DUPLICATE, ImportBatch.Status.SUCCEEDED]
    assert Record.objects.count() == 20
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IMPORTED).count() == 1


def _column_a_only(path, rows):
    """A sheet of 1,048,576 rows where only column A is filled under a real header: Excel's worst case."""
    import zipfile

    from .factories import header_row

    headers = header_row("license")
    strings = headers + ["某某"]
    shared = "".join(f"<si><t>{s}</t></si>" for s in strings)
    head = "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(len(headers)))
    body = [f'<row r="1">{head}</row>']
    body += [f'<row r="{n}"><c r="A{n}" t="s"><v>{len(headers)}</v></c></row>' for n in range(2, rows + 1)]
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="A1:U{rows}"/><sheetData>{"".join(body)}</sheetData></worksheet>')
    ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main" xmlns:r="{ns}"><sheets><sheet name="数据" sheetId="1" r:id="rId1"/>'
            '</sheets></workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{ns}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{ns}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
        z.writestr("xl/sharedStrings.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            f'2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>'))
        z.writestr("xl/worksheets/sheet1.xml", sheet)


@pytest.mark.parametrize("rows, status, words", [
    # The grid alone would not fit in memory: refused from a scan of the sheet's XML, before parsing.
    (1_048_576, ImportBatch.Status.REFUSED, "数据区域过大"),
    # It fits: checking stops at STOP_ERROR_ROWS rows with errors; the first 1,000 errors are kept.
    (250_000, ImportBatch.Status.FAILED, "错误过多，请检查是否使用了正确的模板"),
])
def test_a_huge_error_file_is_refused_in_bounded_time_and_memory(month, tmp_path, media_root, rows, status, words):
    import json
    import re
    import time

    path = tmp_path / "全错.xlsx"
    _column_a_only(path, rows)
    started = time.monotonic()
    process = _cli(media_root, "--unit", "D01", "--period", "2019-08", "--category", LICENSE, "--json", str(path))
    out, err = process.communicate(timeout=300)
    elapsed = time.monotonic() - started
    peak_mb = int(re.search(r"PEAK_RSS_KB=(\d+)", err.decode())[1]) / 1024  # the CLI process's own peak
    assert process.returncode != 0
    lines = out.decode().strip().splitlines()
    assert len(lines[-1]) < 1_000_000  # one bounded JSON line, not gigabytes
    line = json.loads(lines[-1])
    assert line["imported"] == 0
    batch = ImportBatch.objects.get()
    assert batch.status == status
    assert words in batch.message
    if status == ImportBatch.Status.FAILED:
        assert len(line["errors"]) == 1000
        assert line["error_count"] > len(line["errors"])
    assert not Record.objects.exists()
    assert peak_mb < 600, peak_mb
    assert elapsed < 120, elapsed
