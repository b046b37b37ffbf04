"""Reactions to reporting's signals: the public entries follow a month's acceptance and reopening."""

import logging

from django.db import transaction
from django.dispatch import receiver

from reporting.models import ReportStatus
from reporting.signals import report_status_changed

from . import services

logger = logging.getLogger(__name__)


@receiver(report_status_changed, dispatch_uid="disclosure.report_status_changed")
def follow_report_status(sender, *, report, from_status, to_status, **kwargs):
    """In the status change's own transaction (a savepoint): a month is public exactly when it is accepted.
    A failure is logged, never the reason a review fails; `manage.py disclosure_rebuild` repairs."""
    if ReportStatus.ACCEPTED not in (from_status, to_status):
        return
    try:
        with transaction.atomic():
            services.entries_sync_report(report_id=report.pk)
    except Exception:
        logger.exception("could not update the public entries of %s (%s -> %s)", report, from_status, to_status)
