"""Reactions to the reporting app's signals.  reporting sends them and knows nothing of this app."""

import logging

from django.db import transaction
from django.dispatch import receiver

from reporting.signals import report_status_changed

from . import services

logger = logging.getLogger(__name__)


@receiver(report_status_changed, dispatch_uid="notices.report_status_changed")
def notify_report_status(sender, *, report, from_status, to_status, action, user=None, message="", **kwargs):
    """Inbox messages in the status change's own transaction (a savepoint): a failure here is logged,
    never the reason a submission or a review fails."""
    try:
        with transaction.atomic():
            services.notices_for_status_change(report=report, from_status=from_status, to_status=to_status,
                                               action=action, message=message)
    except Exception:
        logger.exception("could not write the notices for %s (%s -> %s)", report, from_status, to_status)
