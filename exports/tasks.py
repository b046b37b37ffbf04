"""Celery door into the export service.  Tasks take ids and are safe to run twice (the job row is claimed once)."""

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
    "default_retry_delay": 2,
}


@shared_task(**_RETRYING)
def run_export_job(job_id):
    services.export_job_run(job_id=job_id)
