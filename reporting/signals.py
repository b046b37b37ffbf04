"""Signals the reporting app sends, so that apps above it can react without reporting knowing them."""

from django.dispatch import Signal

# Sent by services._transition inside the transaction that changes a report's status, after the
# change is audited.  Keyword arguments: report (fresh from the database), from_status, to_status,
# action (an AuditEvent.Action), user (None for the operator CLI), message (e.g. the return reason).
# A receiver that writes should do so in a savepoint and never raise: the status change must not fail.
report_status_changed = Signal()
