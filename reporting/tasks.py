from celery import shared_task

from . import imports


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=10)
def process_import_batch(self, batch_id):
    """Validate and store one uploaded file; safe to run twice."""
    imports.records_import(batch_id=batch_id)


@shared_task
def sweep_import_batches():
    """Beat, every minute: imports whose process died are run again or marked interrupted."""
    return imports.imports_sweep()
