"""What the API tests share: a unit's token, requests with it, rows keyed as a unit's system keys them."""

import json

from django.test import Client
from django.utils import timezone

from reporting.schemas import SCHEMAS

from .factories import records


def this_month():
    """A month every unit may still change (the lock day of last month may have passed)."""
    return timezone.localdate().strftime("%Y-%m")


def url(unit="D02", period=None, category=None, tail=""):
    base = f"/api/v1/reports/{unit}/{period or this_month()}"
    if category:
        base += f"/categories/{category}/records"
    return base + tail


def headed(rows, schema_code="license"):
    """Rows {field key: value} as a unit's system sends them: keyed by the template's header texts."""
    fields = SCHEMAS[schema_code].fields
    return [{f.header: row[f.key] for f in fields if f.key in row} for row in rows]


def license_rows(count, start=0, **overrides):
    return headed(records("license", count, start=start, **overrides))


class Api:
    """A unit's system: requests with its token through Django's test client (CSRF checks on)."""

    def __init__(self, token, client=None):
        self.token = token
        self.client = client or Client(enforce_csrf_checks=True)

    def call(self, method, path, body=None, *, token=None, raw=None, **headers):
        token = self.token if token is None else token
        if token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body, ensure_ascii=False) if body is not None else "")
        return getattr(self.client, method)(path, data=data, content_type="application/json", **headers)

    def put(self, path, body, **headers):
        return self.call("put", path, body, **headers)

    def get(self, path, **headers):
        return self.call("get", path, **headers)

    def post(self, path, body=None, **headers):
        return self.call("post", path, body, **headers)
