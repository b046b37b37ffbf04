"""Who gets in: a unit's Bearer token, its own unit only (404 elsewhere), revoked tokens and sessions
refused (401), throttled per token (429), every call logged (failed sign-ins included)."""

import pytest
from django.test import Client, override_settings

from api.models import ApiCall, ApiToken, token_digest
from api.tokens import token_issue, token_revoke
from reporting.models import MonthlyReport, Record, Unit

from .api_helpers import Api, license_rows, url

pytest_plugins = ["tests.api_fixtures"]
pytestmark = pytest.mark.django_db


def every_endpoint(unit):
    """(method, url, body) of every endpoint of a unit's month."""
    return [
        ("get", url(unit), None),
        ("put", url(unit, category="admin_license"), {"mode": "replace", "rows": license_rows(1)}),
        ("post", url(unit, tail="/submit"), {}),
    ]


def test_another_units_urls_are_404_and_change_nothing(api):
    for method, path, body in every_endpoint("D03"):
        response = api.call(method, path, body)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "unit_not_found"
    assert not MonthlyReport.objects.exists() and not Record.objects.exists()
    # The same answer for a unit that does not exist: nothing tells the two apart.
    assert api.get(url("X99")).json()["detail"].replace("X99", "D03") == api.get(url("D03")).json()["detail"]


def test_the_404s_come_from_scoping_the_token_reaches_its_own_unit(api):
    statuses = [api.call(method, path, body).status_code for method, path, body in every_endpoint("D02")]
    assert statuses == [200, 200, 200]
    assert api.get(url("d02")).status_code == 200  # unit codes are not case-sensitive


def test_no_token_a_wrong_token_and_a_revoked_token_are_401_in_chinese(api, token):
    for bad in ("", "cpk_not-a-token", token + "x"):
        response = Api(bad).get(url())
        assert response.status_code == 401, bad
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "令牌" in response.json()["detail"]
    token_revoke(unit=Unit.objects.get(code="D02"))
    response = api.get(url())
    assert response.status_code == 401 and "吊销" in response.json()["detail"]


def test_a_malformed_authorization_header_is_401(token):
    client = Client()
    for header in (f"Bearer {token} extra", "Basic dXNlcjpwYXNz", "Bearer"):
        response = client.get(url(), HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header


def test_issuing_a_new_token_rotates_the_old_one_out(api, token):
    _, new = token_issue(unit=Unit.objects.get(code="D02"))
    assert api.get(url()).status_code == 401
    assert Api(new).get(url()).status_code == 200
    assert ApiToken.objects.filter(unit__code="D02", revoked_at__isnull=True).count() == 1


def test_tokens_are_stored_hashed_with_a_visible_prefix(token):
    row = ApiToken.objects.get()
    assert row.key_hash == token_digest(token) and token not in row.key_hash
    assert token.startswith(row.prefix) and len(row.prefix) < len(token) // 3
    assert len(token) >= 40


def test_a_signed_in_session_is_not_accepted_as_api_authentication(users):
    client = Client()
    client.force_login(users["other_dept"])  # D02's reporter
    response = client.get(url())
    assert response.status_code == 401
    response = client.put(url(category="admin_license"), data={"mode": "replace", "rows": []},
                          content_type="application/json")
    assert response.status_code == 401
    assert not Record.objects.exists()


def test_the_api_needs_no_csrf_token_even_next_to_a_session(token, users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["other_dept"])
    response = Api(token, client).put(url(category="admin_license"), {"mode": "replace", "rows": license_rows(1)})
    assert response.status_code == 200
    # Control: the same browser session is held to CSRF on the portal's own pages.
    page = client.post(f"/reports/D02/{url().rsplit('/', 1)[-1]}/nil/admin_penalty/")
    assert page.status_code == 403


@override_settings(API_THROTTLE_RATE="3/min")
def test_calls_beyond_the_rate_are_429_with_retry_after_per_token(api):
    assert [api.get(url()).status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(url())
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "请求过于频繁" in response.json()["detail"] and response.json()["code"] == "throttled"
    _, other = token_issue(unit=Unit.objects.get(code="C01"))
    assert Api(other).get(url("C01")).status_code == 200  # another token has its own count
    assert ApiCall.objects.filter(status_code=429).count() == 1


def test_failed_sign_ins_are_logged_without_a_token(api):
    Api("cpk_wrong").get(url(), REMOTE_ADDR="192.0.2.7")
    call = ApiCall.objects.get()
    assert (call.token, call.unit, call.status_code, call.client_ip) == (None, None, 401, "192.0.2.7")
    assert call.path == url() and call.method == "GET"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_the_logged_address_is_the_clients_behind_the_proxy(api):
    api.get(url(), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert ApiCall.objects.get().client_ip == "203.0.113.9"


def test_unknown_api_addresses_are_json_404s_and_wrong_methods_405(api):
    assert api.get("/api/v2/reports").status_code == 404
    response = api.get("/api/v1/nothing/here")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert "接口文档" in response.json()["detail"]
    response = api.call("delete", url())
    assert response.status_code == 405 and "DELETE" in response.json()["detail"]
    response = api.get(url(period="2019-13"))
    assert response.status_code == 404 and "YYYY-MM" in response.json()["detail"]
    response = api.get(url(category="no_such_category"))
    assert response.status_code == 405  # GET on the records address
    response = api.put(url(category="no_such_category"), {"nil": True})
    assert response.status_code == 404 and response.json()["code"] == "category_not_found"


def test_api_answers_are_never_cached(api):
    assert "no-store" in api.get(url())["Cache-Control"]
