"""Full rebuilds as database jobs: recorded with the request, re-dispatched by the sweep, never lost."""

import datetime
import os
import time

import pytest
from django.db import connection
from django.utils import timezone

from credit_portal import jobs
from credit_portal.jobs import JobStatus
from rankings import services as stats
from rankings.models import CategoryStat, RebuildJob
from reporting import services
from reporting.models import ImportBatch, Unit

from .factories import period, records, xlsx_bytes
from .test_rollup import actual_stats, expected_stats
from .worker import Worker, database_url, publishing_to, wait_for

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def accepted_reports(users, upload):
    for n, code in enumerate(["D01", "D02", "C01"]):
        report = services.report_get_or_create(unit=Unit.objects.get(code=code), period=period())
        batch = upload(report, "admin_license", xlsx_bytes("license", records("license", 5 + n, start=50 * n)))
        assert batch.status == ImportBatch.Status.SUCCEEDED, batch.message
        services.report_submit(report=report, user=None, confirm_nil=True)
        services.report_accept(report=report, user=None)
    CategoryStat.objects.all().delete()  # the rebuild has everything to do


def _stale(job, *, seconds=3600, **fields):
    RebuildJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=seconds), **fields
    )


# --- the job row ------------------------------------------------------------------------


@pytest.mark.django_db
def test_rebuild_request_writes_a_pending_job_and_enqueues_it_only_after_commit(
    accepted_reports, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = stats.stats_rebuild_request()
    assert RebuildJob.objects.get(pk=job.pk).status == JobStatus.PENDING
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: eager Celery runs the task here
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 1
    assert "已全量重算" in job.message
    assert actual_stats() == expected_stats()


@pytest.mark.django_db
def test_a_second_request_reuses_the_rebuild_that_has_not_started(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = stats.stats_rebuild_request()
        second = stats.stats_rebuild_request()
    assert first.pk == second.pk
    assert RebuildJob.objects.count() == 1


@pytest.mark.django_db
def test_running_a_job_twice_rebuilds_once(accepted_reports, monkeypatch):
    job = RebuildJob.objects.create()
    calls = []
    original = stats.stats_rebuild
    monkeypatch.setattr(stats, "stats_rebuild", lambda: calls.append(1) or original())
    stats.rebuild_job_run(job_id=job.pk)
    again = stats.rebuild_job_run(job_id=job.pk)
    assert len(calls) == 1
    assert again.status == JobStatus.DONE
    assert again.attempts == 1


@pytest.mark.django_db
def test_sweep_enqueues_a_pending_job_the_broker_never_received(accepted_reports):
    job = RebuildJob.objects.create()  # as if Redis was down when the request committed
    assert jobs.jobs_sweep() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert actual_stats() == expected_stats()


@pytest.mark.django_db
def test_sweep_re_runs_a_job_whose_worker_died(accepted_reports):
    job = RebuildJob.objects.create(status=JobStatus.RUNNING, attempts=1, started_at=timezone.now())
    _stale(job)
    jobs.jobs_sweep()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 2
    assert actual_stats() == expected_stats()


@pytest.mark.django_db
def test_sweep_leaves_a_running_job_with_a_live_heartbeat_alone(users):
    job = RebuildJob.objects.create(status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now())
    assert jobs.jobs_sweep() == 0
    assert RebuildJob.objects.get(pk=job.pk).status == JobStatus.RUNNING
    # Nor does a duplicate message start a second run while the first is alive.
    assert stats.rebuild_job_run(job_id=job.pk).attempts == 1


@pytest.mark.django_db
def test_a_job_whose_worker_died_too_often_fails_with_a_chinese_message(users):
    job = RebuildJob.objects.create(status=JobStatus.RUNNING, attempts=RebuildJob.max_attempts)
    _stale(job)
    assert jobs.jobs_sweep() == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "意外终止" in job.message and "不再自动重试" in job.message
    assert job.finished_at is not None


@pytest.mark.django_db
def test_a_rebuild_that_keeps_failing_is_retried_a_bounded_number_of_times(users, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(stats, "stats_rebuild", broken)
    job = RebuildJob.objects.create()
    for attempt in range(1, RebuildJob.max_attempts + 1):
        with pytest.raises(RuntimeError):
            stats.rebuild_job_run(job_id=job.pk)
        job.refresh_from_db()
        assert job.attempts == attempt
    assert job.status == JobStatus.FAILED
    assert "已尝试 3 次" in job.message
    stats.rebuild_job_run(job_id=job.pk)  # out of attempts: nothing runs
    assert RebuildJob.objects.get(pk=job.pk).attempts == RebuildJob.max_attempts


# --- a real worker killed mid-rebuild ------------------------------------------------------

SWEEP = {"JOBS_SWEEP_SECONDS": "1", "JOBS_STALE_SECONDS": "3", "JOBS_HEARTBEAT_SECONDS": "0.5"}


@pytest.fixture
def workers(tmp_path, media_root):
    started = []

    def start(**kwargs):
        worker = Worker(broker_url=BROKER, database_url=database_url(connection.settings_dict), media_root=media_root,
                        log_path=tmp_path / f"worker{len(started)}.log", env=SWEEP, **kwargs)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_whole_worker_killed_during_a_full_rebuild_the_job_finishes_after_a_new_worker_starts(
    accepted_reports, workers
):
    worker = workers(slow_rollup=30.0)  # the rebuild sleeps inside its transaction
    with publishing_to(BROKER) as app:
        app.control.purge()
        job = stats.stats_rebuild_request()
        assert wait_for(lambda: RebuildJob.objects.get(pk=job.pk).status == JobStatus.RUNNING, timeout=15), \
            worker.read_log()[-2000:]
        beat = RebuildJob.objects.get(pk=job.pk).heartbeat_at
        assert wait_for(lambda: RebuildJob.objects.get(pk=job.pk).heartbeat_at > beat, timeout=5)  # alive
        worker.kill()  # parent and pool: the message stays unacknowledged in Redis for visibility_timeout
        assert not CategoryStat.objects.exists()  # the rebuild's transaction died with it
        assert RebuildJob.objects.get(pk=job.pk).status == JobStatus.RUNNING

        started = time.monotonic()
        second = workers(beat=True)  # beat's sweep every second; a heartbeat older than 3 s is a dead worker
        # Stale after 3 s, swept within 1 s, then the rebuild itself: well inside 15 s.
        assert wait_for(lambda: RebuildJob.objects.get(pk=job.pk).status == JobStatus.DONE, timeout=15), \
            second.read_log()[-3000:]
        elapsed = time.monotonic() - started
    job.refresh_from_db()
    assert job.attempts == 2
    assert elapsed < 15
    assert actual_stats() == expected_stats()
