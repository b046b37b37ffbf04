"""Shared test set-up.

The top part decides which tests can run on this machine.  `make test` probes
PostgreSQL and Redis before pytest starts and exports what it found:

- ``CREDIT_PORTAL_SERVICES_CHECKED=1`` — the probe ran;
- ``CREDIT_PORTAL_HAVE_PG=1/0`` and ``CREDIT_PORTAL_HAVE_REDIS=1/0``;
- ``CREDIT_PORTAL_NO_REDIS=1`` when Redis is unreachable;
- ``CELERY_TEST_BROKER_URL`` — the Redis URL the worker tests should use.

Tests that need a service carry a marker (``postgres``, ``redis``, ``browser``).
Without the service they are skipped with a reason — except under ``CI=true``,
where a missing service fails the test instead: CI must never pass by skipping.
"""

import os
from functools import cache
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_TEST_BROKER_URL = "redis://127.0.0.1:6379/15"


def _in_ci():
    return os.environ.get("CI", "").lower() == "true"


def _default_db_is_postgres():
    from django.conf import settings

    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


@cache
def _redis_available():
    if os.environ.get("CREDIT_PORTAL_SERVICES_CHECKED") == "1":
        return os.environ.get("CREDIT_PORTAL_HAVE_REDIS") == "1"
    # pytest run directly, without `make test`: probe once ourselves.
    import redis

    url = os.environ.get("CELERY_TEST_BROKER_URL", DEFAULT_TEST_BROKER_URL)
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def _service_missing_reason(item):
    if item.get_closest_marker("postgres") and not _default_db_is_postgres():
        return "需要 PostgreSQL（DATABASE_URL 未指向 PostgreSQL）"
    if item.get_closest_marker("redis") and not _redis_available():
        return "需要 Redis 和 Celery worker（CREDIT_PORTAL_HAVE_REDIS 不为 1，Redis 不可达）"
    if item.get_closest_marker("browser") and not CHROMIUM.exists():
        return f"需要 Debian Chromium（{CHROMIUM} 不存在，运行 make sysdeps 安装）"
    return None


def pytest_configure(config):
    from django.conf import settings

    # Password hashing is deliberately slow; tests need no protection from brute force.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    reason = _service_missing_reason(item)
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"CI=true：{reason}。CI 中缺少服务视为失败，不允许跳过。", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def media_root(tmp_path_factory):
    """One media directory for the whole run, outside the project's media/.

    It is also exported as MEDIA_ROOT so that worker processes started by the
    tests store and read uploads in the same place.
    """
    path = tmp_path_factory.mktemp("media")
    os.environ["MEDIA_ROOT"] = str(path)
    return path


@pytest.fixture(autouse=True)
def _isolated_media_root(settings, media_root):
    settings.MEDIA_ROOT = str(media_root)


# --- fixtures ---


# What reference_load writes, in the order a copy must be made (StatColumn points at StatTable).
REFERENCE_MODELS = ("reporting.Unit", "reporting.Category", "reporting.ValueSynonym", "rankings.IndicatorWeight",
                    "rankings.StatTable", "rankings.StatColumn")


@pytest.fixture(scope="session")
def _reference_rows(django_db_setup, django_db_blocker):
    """The rows reference_load writes into an empty database, computed once per session and rolled back.

    reference_load makes some 300 queries (1.3 s a test on PostgreSQL here); a copy of its result is a
    handful of bulk inserts.  The database is left as it was: every test still starts without them.
    """
    from django.apps import apps
    from django.db import transaction

    from reporting.reference import reference_load

    with django_db_blocker.unblock(), transaction.atomic():
        if any(apps.get_model(name).objects.exists() for name in REFERENCE_MODELS):
            rows = None  # a database that is not empty (--reuse-db): the fixture loads the usual way
        else:
            reference_load()
            rows = {name: list(apps.get_model(name).objects.order_by("pk").values()) for name in REFERENCE_MODELS}
        transaction.set_rollback(True)
    return rows


def _reference_copy(rows):
    """Insert the rows reference_load would write (new primary keys, as a fresh load would give)."""
    from django.apps import apps

    tables = {}
    for name in REFERENCE_MODELS:
        model = apps.get_model(name)
        objects = []
        for row in rows[name]:
            values = {key: value for key, value in row.items() if key != "id"}
            if "table_id" in values:
                values["table_id"] = tables[values["table_id"]]
            objects.append(model(**values))
        created = model.objects.bulk_create(objects)
        if name == "rankings.StatTable":
            tables = {row["id"]: obj.pk for row, obj in zip(rows[name], created, strict=True)}


@pytest.fixture
def reference(db, _reference_rows):
    """The 63 units and 23 categories of fixtures/, as `load_reference` loads them."""
    from django.apps import apps

    from reporting.reference import reference_load

    if _reference_rows is None or any(apps.get_model(name).objects.exists() for name in REFERENCE_MODELS):
        reference_load()  # something is there already (a module's world): the idempotent load keeps it right
    else:
        _reference_copy(_reference_rows)


@pytest.fixture
def users(reference):
    """Named users: a department reporter (D01), another department's (D02), a county reporter
    (C01), an office reviewer and an admin.  Password for all: demo12345."""
    from django.core.management import call_command

    from reporting.models import User

    call_command("create_demo_users", verbosity=0)
    return {
        "dept": User.objects.get(username="d01"),
        "other_dept": User.objects.get(username="d02"),
        "county": User.objects.get(username="c01"),
        "office": User.objects.get(username="office"),
        "admin": User.objects.get(username="admin"),
    }


@pytest.fixture
def dept_report(users):
    """D01's draft report for 2019-08."""
    from reporting import services
    from reporting.models import Unit

    from .factories import period

    return services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period())


@pytest.fixture
def upload(tmp_path):
    """upload(report, category_code, content, name="x.xlsx", user=None, keep_valid_rows=False, mode="replace")
    -> ImportBatch,
    through the same services the browser and CLI use."""
    from reporting import imports
    from reporting.models import Category

    def _upload(report, category_code, content, name="upload.xlsx", user=None, keep_valid_rows=False,
                mode="replace"):
        path = tmp_path / name
        path.write_bytes(content)
        with open(path, "rb") as f:
            batch = imports.batch_create(report=report, category=Category.objects.get(code=category_code),
                                         fileobj=f, name=name, user=user, keep_valid_rows=keep_valid_rows,
                                         mode=mode)
        return imports.records_import(batch_id=batch.pk)

    return _upload
