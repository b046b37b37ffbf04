"""The OpenAPI schema (generated, valid, token or sign-in required) and the Chinese docs page made from it."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from drf_spectacular.validation import validate_schema

from api.docs import api_schema
from reporting.schemas import LICENSE

from .api_helpers import Api

pytest_plugins = ["tests.api_fixtures"]
pytestmark = pytest.mark.django_db
ENDPOINTS = {
    ("get", "/api/v1/reports/{unit}/{period}"),
    ("put", "/api/v1/reports/{unit}/{period}/categories/{category}/records"),
    ("post", "/api/v1/reports/{unit}/{period}/submit"),
}


def test_the_schema_is_generated_without_warnings_and_valid(tmp_path):
    target = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target),
                 stderr=io.StringIO())
    document = json.loads(target.read_text(encoding="utf-8"))
    validate_schema(document)
    assert {(m, p) for p, item in document["paths"].items() for m in item} == ENDPOINTS
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    put = document["paths"]["/api/v1/reports/{unit}/{period}/categories/{category}/records"]["put"]
    assert {"200", "401", "404", "409", "413", "422", "429"} <= set(put["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in put["parameters"])


def test_the_schema_is_served_to_a_token_or_a_signed_in_user_never_anonymously(token, users):
    assert Client().get("/api/v1/schema/").status_code == 401
    response = Api(token).get("/api/v1/schema/")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["info"]["title"] == "信用信息报送平台 数据报送接口"
    assert {(m, p) for p, item in document["paths"].items() for m in item} == ENDPOINTS
    client = Client()
    client.force_login(users["dept"])
    assert client.get("/api/v1/schema/").status_code == 200


def test_the_docs_page_lists_every_endpoint_and_each_categorys_fields_in_chinese(users):
    client = Client()
    assert client.get("/api/v1/docs/").status_code == 302  # sign-in first
    client.force_login(users["other_dept"])
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "数据报送接口（API）文档" in html and "幂等" in html and "限流" in html
    for method, path in ENDPOINTS:
        assert path in html and method.upper() in html
    for operation in (op for item in api_schema()["paths"].values() for op in item.values()):
        assert operation["summary"] in html
    for status in ("401", "404", "409", "413", "422", "429"):
        assert f"<code>{status}</code>" in html
    for f in LICENSE.fields:
        assert f.header in html
    assert "XK_XDR" in html and "CF_WSH" in html and "admin_license" in html
    assert "curl" in html and "Authorization: Bearer" in html


def test_the_docs_page_has_no_inline_script_or_style_and_no_outside_resources(users):
    client = Client()
    client.force_login(users["office"])
    html = client.get("/api/v1/docs/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    assert not re.search(r"""(src|href)=["']https?://""", html)


def test_the_docs_page_writes_nothing(users):
    client = Client()
    client.force_login(users["dept"])
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/docs/").status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == [] and len(queries) < 20
