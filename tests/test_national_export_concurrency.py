"""Two exports of one category at once run one after the other (PostgreSQL advisory lock), so the second
--since-last sees what the first sent."""

import threading

import psycopg2
import pytest
from django.db import connection

from exports import services
from exports.models import ExportRun
from reporting import services as reporting
from reporting.models import Category, Unit
from reporting.reference import reference_load

from .factories import csv_bytes, period, records

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _accepted_month(upload):
    reference_load()
    report = reporting.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period())
    upload(report, "admin_license", csv_bytes("license", records("license", 3)), name="u.csv")
    reporting.report_submit(report=report, user=None, confirm_nil=True)
    reporting.report_accept(report=report, user=None)


def _export(path, results):
    from django.db import connection as own

    try:
        results.append(services.export_disclosure(category="admin_license", period_from=period(),
                                                  period_through=period(), fmt="csv", path=path, since_last=True))
    finally:
        own.close()


def test_an_export_waits_for_another_of_its_category_and_then_sends_nothing_twice(upload, tmp_path):
    _accepted_month(upload)
    category = Category.objects.get(code="admin_license")
    params = connection.get_connection_params()
    holder = psycopg2.connect(**params)
    holder.autocommit = True
    with holder.cursor() as cursor:  # another export of the category is running
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [services._LOCK_NAMESPACE, category.pk])
    results = []
    first = threading.Thread(target=_export, args=(tmp_path / "first.csv", results))
    first.start()
    first.join(timeout=1.5)
    assert first.is_alive() and not (tmp_path / "first.csv").exists()  # waiting for the lock
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [services._LOCK_NAMESPACE, category.pk])
    holder.close()
    first.join(timeout=60)
    second = threading.Thread(target=_export, args=(tmp_path / "second.csv", results))
    second.start()
    second.join(timeout=60)
    assert [r.rows for r in results] == [3, 0]
    assert ExportRun.objects.count() == 2


def test_two_since_last_exports_at_once_send_each_record_once(upload, tmp_path):
    _accepted_month(upload)
    results = []
    threads = [threading.Thread(target=_export, args=(tmp_path / f"{n}.csv", results)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.rows for r in results) == [0, 3]
