"""Sign-in lockouts (django-axes): who is locked out, until when, and the office's unlock.

Axes counts failures per username *and* client address (settings.AXES_LOCKOUT_PARAMETERS)
in AccessAttempt rows, one per username, address and browser.  A pair is locked out while
its failures within the cool-off window reach AXES_FAILURE_LIMIT; failures during the
lockout are not counted, so it ends AXES_COOLOFF_TIME after the last counted failure.
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from reporting.models import AuditEvent, User


def client_ip(request):
    """The client's address: REMOTE_ADDR, or the address seen by the outermost trusted proxy."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_retry_at(*, username, ip_address):
    """When the username may sign in again from this address."""
    last = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(
        last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockouts_active():
    """The locked-out (username, address) pairs, latest first, with the account when it exists."""
    rows = list(
        AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last", "username")
    )
    accounts = User.objects.select_related("unit").in_bulk([row["username"] for row in rows], field_name="username")
    for row in rows:
        row["user"] = accounts.get(row["username"])
        row["retry_at"] = row["last"] + settings.AXES_COOLOFF_TIME
    return rows


def lockout_release(*, username, ip_address, actor):
    """Forget the failures of this username from this address, audited.  Returns False if none were left."""
    with transaction.atomic():
        attempts = AccessAttempt.objects.select_for_update().filter(username=username, ip_address=ip_address)
        failures = sum(attempt.failures_since_start for attempt in attempts)
        if not failures:
            return False
        attempts.delete()
        AuditEvent.objects.create(
            actor=actor, action=AuditEvent.Action.UNLOCKED,
            message=f"解除账号 {username} 在 {ip_address} 的登录锁定（失败 {failures} 次）",
            details={"username": username, "ip_address": ip_address, "failures": failures},
        )
    return True
