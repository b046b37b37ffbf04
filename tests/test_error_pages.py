"""Error pages with DEBUG off: Chinese, in the portal's layout, a way forward, never a traceback.

This module is also the URLconf of the 500 tests (`pytest.mark.urls(__name__)`): the portal's
URLs plus one view that crashes.
"""

import logging
import re

import pytest
from django.http import HttpResponseNotAllowed
from django.test import Client, RequestFactory
from django.urls import path, reverse

from credit_portal import errors
from credit_portal.urls import urlpatterns as portal_urlpatterns

SECRET_IN_EXCEPTION = "连接串 postgres://portal:s3cret@db/portal"


def crash(request):
    raise RuntimeError(SECRET_IN_EXCEPTION)


urlpatterns = [path("test-only/crash/", crash), *portal_urlpatterns]
handler500 = "credit_portal.errors.server_error"

DEBUG_MARKERS = ("Traceback", "Django tried these URL patterns", "URLconf", "SECRET_KEY", "DATABASES",
                 "Request Method", "Page not found", "Server Error", "Forbidden", "Bad Request")


def assert_chinese_error_page(response, status, heading):
    assert response.status_code == status
    html = response.content.decode()
    assert heading in html
    assert "市信用办" in html and 'class="navbar' in html  # the portal's layout
    assert reverse("home") in html  # a way forward
    for marker in DEBUG_MARKERS:
        assert marker not in html, marker
    assert "Content-Security-Policy" in response.headers
    return html


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


@pytest.fixture
def dept_client(client, users):
    client.force_login(users["dept"])
    return client


def test_400_for_a_host_that_is_not_allowed(client, db):
    response = client.get("/", HTTP_HOST="portal.attacker.example")
    assert_chinese_error_page(response, 400, "请求有误（400）")


def test_403_for_a_reporter_on_an_office_page(dept_client):
    html = assert_chinese_error_page(dept_client.get(reverse("review_queue")), 403, "无权访问（403）")
    assert "只有市信用办工作人员可以访问此页面。" in html
    assert "联系市信用办或系统管理员" in html


def test_403_for_a_form_without_its_csrf_token(users):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "d01", "password": "demo12345"})
    html = assert_chinese_error_page(response, 403, "页面已过期")
    assert "刷新页面后重新操作" in html


def test_404_for_an_unknown_address(dept_client):
    html = assert_chinese_error_page(dept_client.get("/no-such-page/"), 404, "页面不存在（404）")
    assert "请检查地址" in html


def test_404_for_another_units_report_says_nothing_more(dept_client):
    html = assert_chinese_error_page(dept_client.get("/reports/D02/2019-08/"), 404, "页面不存在（404）")
    assert "D02" not in html


def test_405_for_a_get_on_a_post_only_address(dept_client):
    response = dept_client.get(reverse("report_submit", args=["D01", "2019-08"]))
    html = assert_chinese_error_page(response, 405, "不能直接打开此地址（405）")
    assert response["Allow"] == "POST"
    assert "使用页面上的按钮" in html


def test_405_for_a_get_on_logout(client, db):
    response = client.get(reverse("logout"))
    assert_chinese_error_page(response, 405, "不能直接打开此地址（405）")
    assert "POST" in response["Allow"]


def test_a_405_with_its_own_content_is_left_alone(rf):
    from credit_portal.middleware import MethodNotAllowedPageMiddleware

    original = HttpResponseNotAllowed(["POST"], content=b"custom")
    response = MethodNotAllowedPageMiddleware(lambda request: original)(rf.get("/"))
    assert response is original


@pytest.mark.urls(__name__)
def test_500_shows_a_reference_number_that_is_in_the_log(users, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(users["dept"])
    with caplog.at_level(logging.ERROR, logger="credit_portal.errors"):
        response = client.get("/test-only/crash/")
    html = assert_chinese_error_page(response, 500, "系统出现错误（500）")
    reference = response["X-Error-Reference"]
    assert re.fullmatch(r"[0-9A-F]{8}", reference)
    assert f'id="error-reference">{reference}<' in html
    assert SECRET_IN_EXCEPTION not in html and "s3cret" not in html
    [record] = [r for r in caplog.records if r.name == "credit_portal.errors"]
    assert reference in record.getMessage() and "/test-only/crash/" in record.getMessage()
    assert record.exc_info[0] is RuntimeError  # the traceback is in the log, with the reference
    assert "no-store" in response["Cache-Control"]


@pytest.mark.urls(__name__)
def test_500_references_differ(db):
    client = Client(raise_request_exception=False)
    references = {client.get("/test-only/crash/")["X-Error-Reference"] for _ in range(3)}
    assert len(references) == 3


def test_500_page_needs_no_database_and_no_user():
    """No `db` fixture: any query would fail this test.  The request has no user or session."""
    request = RequestFactory().get("/reports/D01/2019-08/")
    try:
        raise RuntimeError("database is down")
    except RuntimeError:
        response = errors.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "系统出现错误（500）" in html and response["X-Error-Reference"] in html
    assert "退出登录" not in html


def test_500_page_falls_back_to_plain_chinese_when_its_template_fails(monkeypatch):
    def broken(name):
        raise RuntimeError("template storage unavailable")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    response = errors.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "系统出现错误" in html and response["X-Error-Reference"] in html


def test_debug_pages_hide_connection_urls_with_passwords(rf):
    request = rf.get("/", DATABASE_URL="postgres://portal:s3cret@db/portal",
                     CELERY_BROKER_URL="redis://:s3cret@redis:6379/0")
    meta = errors.ReporterFilter().get_safe_request_meta(request)
    assert "s3cret" not in meta["DATABASE_URL"] and "s3cret" not in meta["CELERY_BROKER_URL"]
    assert meta["PATH_INFO"] == "/"
