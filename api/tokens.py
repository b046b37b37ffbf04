"""Issuing, rotating and revoking API tokens, and finding the token of a request.

A token is shown once, when it is issued; only its SHA-256 and a short prefix (to tell tokens apart in
lists and logs) are stored.  A unit has at most one active token: issuing a new one revokes the old one
at once (rotation), so a leaked token is dealt with by issuing another.
"""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from reporting.models import Unit
from reporting.services import ServiceError

from .models import ApiToken, token_digest

TOKEN_PREFIX = "cpk_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


def api_account(unit):
    """The unit's API account: a user of the unit that cannot sign in; the services act as it."""
    User = get_user_model()
    username = f"api_{unit.code.lower()}"
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"unit": unit, "display_name": f"{unit.short_name}（数据接口）", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif user.unit_id != unit.pk:
        raise ServiceError(f"用户名“{username}”已被其他账号占用，无法为{unit}建立接口账号。")
    return user


def token_issue(*, unit, user=None, note=""):
    """A new token for the unit; its active token, if any, is revoked.  Returns (ApiToken, the token text)."""
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)  # two issues at once: one after the other
        revoked = token_revoke(unit=unit, user=user)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken.objects.create(unit=unit, user=api_account(unit), prefix=token[:PREFIX_LENGTH],
                                      key_hash=token_digest(token), note=note[:200], created_by=user)
    row.replaced = revoked
    return row, token


def token_revoke(*, unit=None, tokens=None, user=None):
    """Revoke the unit's active tokens (or the given ones); returns how many were revoked."""
    queryset = ApiToken.objects.filter(revoked_at__isnull=True)
    if unit is not None:
        queryset = queryset.filter(unit=unit)
    if tokens is not None:
        queryset = queryset.filter(pk__in=[t.pk for t in tokens])
    return queryset.update(revoked_at=timezone.now(), revoked_by=user)


def token_find(text):
    """The active token with this text, or None."""
    if not text or len(text) > 200:
        return None
    return (ApiToken.objects.select_related("unit", "user")
            .filter(key_hash=token_digest(text), revoked_at__isnull=True).first())
