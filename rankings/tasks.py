"""Celery doors into the rollup services.  Tasks take ids and are safe to run twice."""

import datetime

from celery import shared_task
from django.db import DatabaseError

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
def sweep_pending_rollups():
    return services.marks_sweep()


@shared_task(**_RETRYING)
def rebuild_statistics():
    return services.stats_rebuild()
