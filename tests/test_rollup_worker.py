"""Rollups through a real Redis broker and a real Celery worker process."""

import os

import pytest
from django.db import connection
from django.utils import timezone

from rankings import services as stats
from rankings.models import CategoryStat, RollupMark
from reporting import imports, services
from reporting.models import Category, ImportBatch, Record, Unit

from .factories import period, records, xlsx_bytes
from .worker import PrivateRedis, Worker, database_url, publishing_to, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def _stat(unit, code, month=8):
    row = CategoryStat.objects.filter(unit=unit, category__code=code, period=period(2019, month)).first()
    return row.value if row else None


def _direct_count(unit, code, month=8):
    return Record.objects.filter(
        unit=unit, category__code=code, report__period=period(2019, month), report__status="accepted"
    ).count()


@pytest.fixture
def worker_factory(tmp_path, media_root):
    started = []

    def start(broker_url=BROKER, slow_rollup=0.0):
        worker = Worker(broker_url=broker_url, database_url=database_url(connection.settings_dict),
                        media_root=media_root, slow_rollup=slow_rollup, log_path=tmp_path / f"worker{len(started)}.log")
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def submitted_report(users, upload):
    unit = Unit.objects.get(code="D01")
    report = services.report_get_or_create(unit=unit, period=period())
    batch = upload(report, "admin_license", xlsx_bytes("license", records("license", 30)))
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.message
    return services.report_submit(report=report, user=None, confirm_nil=True)


def _purge(app):
    app.control.purge()


def test_acceptance_is_rolled_up_by_a_real_worker_within_seconds(submitted_report, users, worker_factory):
    worker_factory()
    with publishing_to(BROKER) as app:
        _purge(app)
        services.report_accept(report=submitted_report, user=users["office"])
    unit = submitted_report.unit
    assert wait_for(lambda: _stat(unit, "admin_license") == 30, timeout=10), "worker did not roll up in 10 s"
    assert wait_for(lambda: not RollupMark.objects.get(unit=unit, period=period()).pending, timeout=5)
    assert _stat(unit, "admin_penalty") == 0  # a category declared nil counts as zero, not missing


def test_acceptance_with_broker_down_leaves_mark_pending_and_sweep_completes_it(
    submitted_report, users, worker_factory, tmp_path
):
    broker = PrivateRedis(tmp_path).start()
    try:
        with publishing_to(broker.url) as app:
            _purge(app)
            broker.stop()  # Redis goes away just before the office clicks 通过
            report = services.report_accept(report=submitted_report, user=users["office"])
            assert report.status == "accepted"  # the acceptance itself succeeded
            mark = RollupMark.objects.get(unit=report.unit, period=report.period)
            assert mark.pending is True
            assert _stat(report.unit, "admin_license") is None

            broker.start()  # back, same port
            worker_factory(broker_url=broker.url)
            assert stats.marks_sweep(older_than_seconds=0) == 1
            assert wait_for(lambda: _stat(report.unit, "admin_license") == 30, timeout=15)
            assert wait_for(lambda: not RollupMark.objects.get(pk=mark.pk).pending, timeout=5)
    finally:
        broker.stop()


def test_worker_killed_mid_rollup_then_rerun_gives_exact_result(submitted_report, users, worker_factory):
    unit = submitted_report.unit
    worker = worker_factory(slow_rollup=3.0)
    with publishing_to(BROKER) as app:
        _purge(app)
        services.report_accept(report=submitted_report, user=users["office"])
        mark = RollupMark.objects.get(unit=unit, period=period())
        # The task has started once its attempt is counted; it then sleeps inside its transaction.
        assert wait_for(lambda: RollupMark.objects.get(pk=mark.pk).attempts >= 1, timeout=10)
        killed = worker.kill_pool_child()
        assert killed, "no pool process to kill"
        # The rollup's transaction died with the process: nothing half-written is visible.
        assert _stat(unit, "admin_license") is None
        # task_retry_on_worker_lost: the parent re-runs the task in a new pool process.
        assert wait_for(lambda: _stat(unit, "admin_license") == 30, timeout=30), worker.read_log()[-2000:]
    assert _stat(unit, "admin_license") == _direct_count(unit, "admin_license")
    assert CategoryStat.objects.filter(unit=unit, period=period()).count() == len(unit.categories())


def test_whole_worker_crash_is_recovered_by_the_sweep(submitted_report, users, worker_factory):
    unit = submitted_report.unit
    worker = worker_factory(slow_rollup=3.0)
    with publishing_to(BROKER) as app:
        _purge(app)
        services.report_accept(report=submitted_report, user=users["office"])
        mark = RollupMark.objects.get(unit=unit, period=period())
        assert wait_for(lambda: RollupMark.objects.get(pk=mark.pk).attempts >= 1, timeout=10)
        worker.kill()  # parent and pool: the message stays unacknowledged in Redis
        assert RollupMark.objects.get(pk=mark.pk).pending is True
        _purge(app)
        worker_factory()
        stats.marks_sweep(older_than_seconds=0)
        assert wait_for(lambda: _stat(unit, "admin_license") == 30, timeout=15)
    assert _stat(unit, "admin_license") == _direct_count(unit, "admin_license")


def test_background_import_of_a_large_file_runs_on_the_worker(users, worker_factory, settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.UPLOAD_BACKGROUND_BYTES = 1  # every upload goes to the worker
    worker_factory()
    unit = Unit.objects.get(code="D01")
    # The current month: a reporter may still edit it (past months are past their lock day).
    report = services.report_get_or_create(unit=unit, period=timezone.localdate().replace(day=1))
    path = tmp_path / "big.xlsx"
    path.write_bytes(xlsx_bytes("license", records("license", 500)))
    with publishing_to(BROKER) as app:
        _purge(app)
        with open(path, "rb") as f:
            batch = imports.batch_create(report=report, category=Category.objects.get(code="admin_license"),
                                          fileobj=f, name="big.xlsx", user=users["dept"])
        from django.db import transaction

        with transaction.atomic():
            imports.batch_dispatch(batch)
        batch.refresh_from_db()
        assert batch.status in (ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING)
        assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).is_finished, timeout=30)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.message
    assert batch.progress == 100
    assert Record.objects.filter(report=report).count() == 500
