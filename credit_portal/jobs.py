"""Background jobs recorded in the database, so that no crash loses one.

The queue is never the only record of work (Redis may restart empty, a whole
worker may die with its message unacknowledged for `visibility_timeout`).
A job is a row, written in the transaction that requests it; its task is
enqueued once that transaction commits and takes the row's id.  The worker
claims the row with a conditional UPDATE, writes a heartbeat while it works
and records the outcome.  The beat sweep (`jobs_sweep`) re-enqueues rows that
never reached a worker and rows whose heartbeat stopped (their worker died),
up to `max_attempts` runs; after that the row fails with a message for people.

A new kind of job: subclass `Job` in an app's models, set `task` to the
dotted path of a Celery task that calls `job_run(Model, job_id, work)`, and
request it with `job_request(Model, ...)`.  The sweep finds every subclass.
"""

import datetime
import logging
import threading

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    PENDING = "pending", "排队中"
    RUNNING = "running", "运行中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class Job(models.Model):
    """State shared by every kind of background job; subclasses add what their work needs."""

    # Dotted path of the Celery task that runs a job of this kind, given its id.
    task = ""
    # Runs started (claims) before the job is given up.
    max_attempts = 3

    status = models.CharField("状态", max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING,
                              db_index=True)
    attempts = models.PositiveSmallIntegerField("执行次数", default=0)
    requested_at = models.DateTimeField("请求时间", default=timezone.now)
    dispatched_at = models.DateTimeField("最近入队时间", null=True, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近心跳", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    message = models.TextField("说明", blank=True)

    class Meta:
        abstract = True
        ordering = ["-requested_at", "-id"]

    def __str__(self):
        return f"{self._meta.verbose_name} #{self.pk}（{self.get_status_display()}）"

    @property
    def is_finished(self):
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


def job_models():
    return [m for m in apps.get_models() if issubclass(m, Job)]


def job_request(model, **fields):
    """Record a job and enqueue it once the caller's transaction commits; returns the row."""
    with transaction.atomic():
        job = model.objects.create(**fields)
        transaction.on_commit(lambda: job_enqueue(model, job.pk))
    return job


def job_enqueue(model, job_id):
    """Send the job's task; if the broker is down the row stays pending and the sweep retries."""
    model.objects.filter(pk=job_id).update(dispatched_at=timezone.now())
    try:
        import_string(model.task).delay(job_id)
    except Exception:
        logger.warning("could not enqueue %s %s; left pending for the sweep", model.__name__, job_id, exc_info=True)
        return False
    return True


def _stale_before(now):
    return now - datetime.timedelta(seconds=settings.JOBS_STALE_SECONDS)


def job_run(model, job_id, work):
    """Claim the job, run `work(job)` with a heartbeat, record the outcome; returns the job.

    Safe to call twice: a job that is finished, out of attempts, or running
    with a live heartbeat elsewhere is left alone.  `work` returns the
    message shown for a finished job; its exceptions are recorded and raised.
    """
    now = timezone.now()
    claimed = model.objects.filter(
        Q(status=JobStatus.PENDING) | Q(status=JobStatus.RUNNING, heartbeat_at__lt=_stale_before(now)),
        pk=job_id, attempts__lt=model.max_attempts,
    ).update(status=JobStatus.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now)
    job = model.objects.get(pk=job_id)
    if not claimed:
        return job
    try:
        with _Heartbeat(model, job_id):
            message = work(job)
    except Exception as exc:
        _record_error(model, job, exc)
        raise
    now = timezone.now()
    model.objects.filter(pk=job_id).update(status=JobStatus.DONE, finished_at=now, heartbeat_at=now,
                                           message=message or "")
    job.refresh_from_db()
    return job


def _record_error(model, job, exc):
    logger.exception("%s failed (attempt %s of %s)", job, job.attempts, model.max_attempts)
    if job.attempts >= model.max_attempts:
        model.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, finished_at=timezone.now(),
            message=f"执行出错，已尝试 {job.attempts} 次，不再自动重试。请联系系统管理员查看日志。",
        )
    else:
        model.objects.filter(pk=job.pk).update(status=JobStatus.PENDING, message="执行出错，稍后自动重试。")


class _Heartbeat:
    """Writes the job's heartbeat from a thread, over that thread's own connection.

    The work usually runs in one long transaction, so a heartbeat written on
    its connection would stay invisible until the end.  SQLite (one writer at
    a time, eager tasks) gets no heartbeat: nothing sweeps there.
    """

    def __init__(self, model, job_id):
        self.model, self.job_id = model, job_id
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        if connection.vendor == "postgresql":
            self.thread = threading.Thread(target=self.beat, name=f"heartbeat-{self.job_id}", daemon=True)
            self.thread.start()
        return self

    def beat(self):
        from django.db import connection as own_connection

        try:
            while not self.stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    self.model.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:
                    logger.warning("heartbeat of %s %s failed", self.model.__name__, self.job_id, exc_info=True)
        finally:
            own_connection.close()

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        return False


def jobs_sweep(*, stale_seconds=None):
    """Re-enqueue jobs whose worker died or whose message never reached one; returns how many.

    A running job whose heartbeat is older than JOBS_STALE_SECONDS lost its
    worker: it goes back to pending (or fails, out of attempts).  A pending
    job not enqueued within that time is enqueued again; a duplicate message
    is harmless, the claim lets only one run through.
    """
    stale_seconds = settings.JOBS_STALE_SECONDS if stale_seconds is None else stale_seconds
    now = timezone.now()
    cutoff = now - datetime.timedelta(seconds=stale_seconds)
    enqueued = 0
    for model in job_models():
        dead = model.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
        dead.filter(attempts__gte=model.max_attempts).update(
            status=JobStatus.FAILED, finished_at=now,
            message=f"执行任务的进程意外终止，已尝试 {model.max_attempts} 次，不再自动重试。请联系系统管理员。",
        )
        revived = dead.filter(attempts__lt=model.max_attempts).update(
            status=JobStatus.PENDING, dispatched_at=None, message="执行任务的进程意外终止，已重新排队。"
        )
        if revived:
            logger.warning("%s %s job(s) lost their worker; re-enqueued", revived, model.__name__)
        waiting = model.objects.filter(
            Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff), status=JobStatus.PENDING
        ).values_list("pk", flat=True)
        for job_id in list(waiting):
            enqueued += job_enqueue(model, job_id)
    return enqueued
