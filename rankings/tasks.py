"""Celery doors into the rollup services.  Tasks take ids and are safe to run twice."""

import datetime

from celery import shared_task
from django.db import DatabaseError

from credit_portal import jobs

from . import services

_RETRYING = {
    "acks_late": True,
    "retry_on_worker_lost": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
    # Also the delay before re-running a task whose worker process died.
    "default_retry_delay": 2,
}


@shared_task(**_RETRYING)
def rollup_unit_month(unit_id, period):
    services.mark_run(unit_id=unit_id, period=datetime.date.fromisoformat(period))


@shared_task(**_RETRYING)
def sweep_pending_work():
    """The beat's sweep: rollup marks left pending and database jobs whose worker died or never started."""
    return services.marks_sweep() + jobs.jobs_sweep()


@shared_task(**_RETRYING)
def rebuild_statistics():
    """Nightly: record a full rebuild as a job, run by `run_rebuild_job`."""
    return services.stats_rebuild_request().pk


@shared_task(**_RETRYING)
def run_rebuild_job(job_id):
    services.rebuild_job_run(job_id=job_id)
