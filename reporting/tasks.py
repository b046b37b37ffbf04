from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=10)
def process_import_batch(self, batch_id):
    """Validate and store one uploaded file; safe to run twice."""
    services.batch_process(batch_id=batch_id)
