"""Idempotency-Key: a retried write gets the first answer back, and is done once.

The (token, key) row is inserted in the same transaction as the work: a second request with the same
key waits at the insert until the first one commits, then finds its answer and replays it.  A failed
insert with nothing behind it cannot happen; an unexpected error rolls the row back with the work, so
the retry runs afresh.  Rows older than API_IDEMPOTENCY_HOURS are deleted on the next keyed write.
"""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import ApiError
from .models import IdempotentResponse

MAX_KEY_LENGTH = 200


def request_hash(request, body):
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = f"{request.method} {request.path}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def key_of(request):
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(422, f"Idempotency-Key 最长 {MAX_KEY_LENGTH} 个字符，且不能含控制字符。", code="invalid_idempotency_key")
    return key


def idempotent(*, token, key, fingerprint, work):
    """(status, body, replayed): `work()` -> (status, body) runs at most once per (token, key)."""
    if not key:
        status, body = _outcome(work)
        return status, body, False
    expired = timezone.now() - timezone.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    IdempotentResponse.objects.filter(created_at__lt=expired).delete()
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotentResponse.objects.create(token=token, key=key, request_hash=fingerprint,
                                                        status_code=0, body={})
        except IntegrityError:
            row = IdempotentResponse.objects.get(token=token, key=key)
            if row.request_hash != fingerprint:
                raise ApiError(422, "这个 Idempotency-Key 已用于另一个内容不同的请求。重试时请求必须与第一次完全相同；"
                                    "新的请求请使用新的 Idempotency-Key。", code="idempotency_key_reused") from None
            if row.status_code == 0:  # only where the insert does not wait (SQLite): the first is still running
                raise ApiError(409, "相同 Idempotency-Key 的请求正在处理中，请稍后重试。", code="request_in_progress") from None
            # Stored as JSON text (a jsonb string): a jsonb object would come back with its keys reordered.
            body = json.loads(row.body) if isinstance(row.body, str) else row.body
            return row.status_code, body, True
        status, body = _outcome(work)
        row.status_code, row.body = status, json.dumps(body, ensure_ascii=False)
        row.save(update_fields=["status_code", "body"])
    return status, body, False


def _outcome(work):
    """The answer of the work, refusals included (a retry must get the same refusal)."""
    try:
        return work()
    except ApiError as exc:
        return exc.status_code, exc.body
