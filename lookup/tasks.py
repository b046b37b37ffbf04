"""Celery doors into the batch-check service.  Tasks take ids and are safe to run twice."""

from celery import shared_task
from django.db import DatabaseError

from . import services

# As the other job tasks: acknowledged after the work, run again if the worker process dies,
# retried on database errors.  A rerun is harmless: the job row is claimed once.
_RETRYING = {
    "acks_late": True,
    "retry_on_worker_lost": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
    "default_retry_delay": 2,
}


@shared_task(**_RETRYING)
def run_batch_check(job_id):
    services.batch_check_run(job_id=job_id)
