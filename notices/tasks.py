"""Celery doors into the reminder services.  Tasks take ids and are safe to run twice."""

from celery import shared_task
from django.db import DatabaseError

from . import services

# As the rollup tasks: acknowledged after the work, run again if the worker process dies, retried on
# database errors.  A rerun is harmless: each unit's reminder is one unique row per day.
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
def run_reminder_job(job_id):
    services.reminder_job_run(job_id=job_id)


@shared_task(**_RETRYING)
def send_scheduled_reminders():
    """The beat's check: reminder jobs for the rules due today (see services.reminders_schedule)."""
    return [job.pk for job in services.reminders_schedule()]
