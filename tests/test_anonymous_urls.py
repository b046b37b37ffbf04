"""Nothing of the portal is reachable without signing in, except what is public by design.

Every URL pattern of the project (get_resolver(), including the admin's and any app added later) is
requested by an anonymous client, GET and POST, with its path converters filled with values that exist
in the database (a unit, a month with a record, an import batch…), so that a 404 is not merely a
missing row.  Each answer must send the visitor to a login page, or be 401/403/404/405, unless the
address is on the allow-list below.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from reporting.models import ImportBatch, Record

from .factories import period, record, xlsx_bytes

LOGIN_PAGES = ("/accounts/login/", "/admin/login/")
# Public by design: signing in and out, the forgotten-password pages, the public disclosure pages.
ALLOWED = (
    re.compile(r"^/accounts/login/$"),
    re.compile(r"^/accounts/logout/$"),
    re.compile(r"^/admin/login/$"),
    re.compile(r"^/admin/logout/$"),
    re.compile(r"^/accounts/password/reset/"),
    re.compile(r"^/accounts/password/forgot/$"),
    re.compile(r"^/gongshi/"),
)
REFUSED = (401, 403, 404, 405)


@pytest.fixture
def samples(users, dept_report, upload):
    """Values for path converters, by parameter name: rows that exist."""
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", [record("license", 1)]))
    assert batch.status == ImportBatch.Status.SUCCEEDED
    record_id = Record.objects.get(batch=batch).pk
    return {
        "unit_code": "D01", "unit": "D01", "code": "D01", "period": period().strftime("%Y-%m"),
        "category_code": "admin_license", "category": "admin_license", "kind": "county", "fmt": "pdf",
        "record_id": str(record_id), "batch_id": str(batch.pk), "job_id": "1", "notice_id": "1",
        "year": "2019", "number": "1", "article_id": "1", "object_id": str(users["dept"].pk),
        "content_type_id": "1", "id": str(users["dept"].pk), "uidb64": "MQ", "token": "set-password",
        "app_label": "reporting", "url": "reporting/", "stat_code": "county_park",
    }


def _fill(pattern, values):
    """A concrete path for one pattern's own part."""
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: _value(m.group(2), m.group(1), values), str(pattern))
    assert isinstance(pattern, RegexPattern)
    text = str(pattern).lstrip("^").rstrip("$")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: _value(m.group(1), "", values), text)
    return text.replace("\\.", ".")


def _value(name, converter, values):
    if name == "code" and "tables" in values.get("_route", ""):
        return values["stat_code"]
    return values.get(name, "1")


def all_paths(values):
    """(path, route) of every URL pattern, recursively."""
    def walk(patterns, prefix, route):
        for p in patterns:
            part_route = route + str(p.pattern)
            part = _fill(p.pattern, {**values, "_route": part_route})
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + part, part_route)
            else:
                assert isinstance(p, URLPattern)
                yield "/" + prefix + part, part_route
    return list(walk(get_resolver().url_patterns, "", ""))


def _verdict(response):
    if response.status_code in (301, 302, 303, 307, 308):
        target = urlsplit(response["Location"]).path
        return "login" if target in LOGIN_PAGES else f"redirect to {target}"
    if response.status_code in REFUSED:
        return "refused"
    return f"status {response.status_code}"


def test_every_address_needs_a_login_except_the_public_ones(client, samples):
    paths = all_paths(samples)
    assert len(paths) > 150  # the walk reached the admin's and every app's patterns
    open_pages = []
    for path, route in paths:
        resolve(path)  # a filled-in pattern is a real address
        if any(allowed.match(path) for allowed in ALLOWED):
            continue
        for method in ("get", "post"):
            cache.clear()  # the public pages' throttle counts per client
            verdict = _verdict(getattr(client, method)(path))
            if verdict not in ("login", "refused"):
                open_pages.append(f"{method.upper()} {path} ({route}): {verdict}")
    assert not open_pages, "reachable without signing in:\n" + "\n".join(open_pages)


def test_the_walk_would_notice_an_open_page(client, samples, users):
    """Control: signed in, the same walk reaches pages, so the anonymous check above can fail."""
    client.force_login(users["office"])
    reached = [path for path, _ in all_paths(samples)
               if not path.startswith(("/admin/", "/gongshi/")) and _verdict(client.get(path)) not in ("login", "refused")]
    assert {"/office/queue/", "/lookup/", "/stats/", "/inbox/"} <= set(reached)
    assert len(reached) > 20


def test_public_pages_are_reachable_anonymously(client, samples):
    for path in ("/gongshi/", "/gongshi/xuke/", "/gongshi/chufa/", "/accounts/login/", "/accounts/password/reset/"):
        assert client.get(path).status_code == 200, path
