"""Idempotency-Key: a retry gets the first answer and stores nothing twice; another body under the same
key is refused; two identical requests at once import once (PostgreSQL, two connections)."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from api.models import ApiCall, IdempotentResponse
from reporting import imports
from reporting.models import ImportBatch, Record, Unit

from .api_helpers import Api, license_rows, url

pytest_plugins = ["tests.api_fixtures"]
pytestmark = pytest.mark.django_db
LICENSES = url(category="admin_license")


def test_a_retry_with_the_same_key_gets_the_same_answer_and_imports_nothing_again(api):
    body = {"mode": "append", "rows": license_rows(3)}
    first = api.put(LICENSES, body, HTTP_IDEMPOTENCY_KEY="batch-0001")
    again = api.put(LICENSES, body, HTTP_IDEMPOTENCY_KEY="batch-0001")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["imported"] == 3
    assert first.content == again.content  # byte for byte: the keys in their first order, too
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Record.objects.count() == 3 and ImportBatch.objects.count() == 1
    calls = list(ApiCall.objects.order_by("id").values_list("rows_imported", "replayed"))
    assert calls == [(3, False), (0, True)]
    # Without the key the same rows are a new request, which the upload's rule finds identical: not counted.
    response = api.put(LICENSES, body)
    assert response.status_code == 200 and response.json()["duplicate"] is True
    assert Record.objects.count() == 3 and ImportBatch.objects.count() == 2


def test_the_same_key_with_another_body_is_refused(api):
    api.put(LICENSES, {"mode": "replace", "rows": license_rows(2)}, HTTP_IDEMPOTENCY_KEY="k")
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(3)}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused" and "Idempotency-Key" in response.json()["detail"]
    assert Record.objects.count() == 2
    # The same key on another address is another request too.
    response = api.post(url(tail="/submit"), {}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"


def test_a_refusal_is_replayed_as_it_was(api):
    bad = {"mode": "replace", "rows": license_rows(2, status="不知道")}
    first = api.put(LICENSES, bad, HTTP_IDEMPOTENCY_KEY="bad-1")
    again = api.put(LICENSES, bad, HTTP_IDEMPOTENCY_KEY="bad-1")
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json() and first.json()["error_count"] == 2
    assert first.content == again.content
    assert ImportBatch.objects.count() == 1


def test_keys_belong_to_one_token(api, users):
    body = {"mode": "replace", "rows": license_rows(1)}
    api.put(LICENSES, body, HTTP_IDEMPOTENCY_KEY="shared")
    from api.tokens import token_issue

    _, county = token_issue(unit=Unit.objects.get(code="C01"))
    response = Api(county).put(url("C01", category="admin_license"), body, HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert Record.objects.filter(unit__code="C01").count() == 1


def test_keys_expire(api, settings):
    body = {"mode": "replace", "rows": license_rows(1)}
    api.put(LICENSES, body, HTTP_IDEMPOTENCY_KEY="old")
    IdempotentResponse.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(1, start=5)}, HTTP_IDEMPOTENCY_KEY="old")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert list(Record.objects.values_list("doc_number", flat=True)) == ["营测〔2019〕5号"]
    assert IdempotentResponse.objects.count() == 1


def test_an_unexpected_error_keeps_no_key_so_the_retry_runs(api, monkeypatch):
    body = {"mode": "replace", "rows": license_rows(1)}

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "records_import", broken)
    response = api.put(LICENSES, body, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert response.status_code == 500 and "参考编号" in response.json()["detail"]
    assert not IdempotentResponse.objects.exists() and not ImportBatch.objects.exists()
    monkeypatch.undo()
    assert api.put(LICENSES, body, HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 200


def test_an_unusable_key_is_refused(api):
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(1)}, HTTP_IDEMPOTENCY_KEY="x" * 201)
    assert response.status_code == 422 and response.json()["code"] == "invalid_idempotency_key"
    assert not Record.objects.exists()


@pytest.mark.postgres
def test_two_identical_requests_at_once_import_once(transactional_db, users):
    from api.tokens import token_issue

    _, token = token_issue(unit=Unit.objects.get(code="D02"))
    body = {"mode": "append", "rows": license_rows(800)}
    start = threading.Barrier(2)
    responses = {}

    def send(name):
        try:
            start.wait(timeout=10)
            responses[name] = Api(token).put(LICENSES, body, HTTP_IDEMPOTENCY_KEY="same-key")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    a, b = responses["a"], responses["b"]
    assert a.status_code == b.status_code == 200, (a.json(), b.json())
    assert a.json() == b.json() and a.json()["imported"] == 800
    assert sorted(r.get("Idempotent-Replayed", "") for r in (a, b)) == ["", "true"]
    assert Record.objects.count() == 800 and ImportBatch.objects.count() == 1
    assert sorted(ApiCall.objects.values_list("rows_imported", flat=True)) == [0, 800]
    # They overlapped: the retry started before the first one finished, and waited for its answer.
    first, retry = ApiCall.objects.order_by("replayed")
    first_end, retry_start = first.created_at, retry.created_at - datetime.timedelta(milliseconds=retry.duration_ms)
    assert retry_start < first_end, (first.duration_ms, retry.duration_ms)
