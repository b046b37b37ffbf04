"""Records never lose their report, although records.report has no per-row foreign-key check.

Migration 0005 replaced the check (a third of the COPY's server time) with a
trigger on the report side and a key-share lock taken by records_insert.
The trigger is PostgreSQL's (production); the lock and the refusal of a
missing report hold on SQLite too.
"""

import pytest
from django.db import IntegrityError, connection, transaction

from reporting import imports
from reporting.models import Category, ImportBatch, MonthlyReport, Record
from reporting.validation import CleanRow

from .factories import records, xlsx_bytes


@pytest.fixture
def stored_report(dept_report, upload):
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 3)))
    assert batch.status == ImportBatch.Status.SUCCEEDED
    return dept_report


def _raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
def test_a_report_with_records_cannot_be_deleted_even_in_raw_sql(stored_report):
    with pytest.raises(IntegrityError, match="报表仍有记录"):
        _raw(f"DELETE FROM {MonthlyReport._meta.db_table} WHERE id = %s", [stored_report.pk])
    assert Record.objects.filter(report=stored_report).count() == 3


@pytest.mark.postgres
def test_a_report_with_records_cannot_change_its_id(stored_report):
    with pytest.raises(IntegrityError, match="报表仍有记录"):
        _raw(f"UPDATE {MonthlyReport._meta.db_table} SET id = id + 100000 WHERE id = %s", [stored_report.pk])
    assert MonthlyReport.objects.filter(pk=stored_report.pk).exists()


@pytest.mark.postgres
def test_once_its_records_are_gone_the_trigger_lets_the_report_go(stored_report):
    Record.objects.filter(report=stored_report).delete()
    with transaction.atomic(), connection.cursor() as cursor:
        # Only the trigger is under test: the report's other rows still hold it, so roll back.
        cursor.execute(f"SAVEPOINT s; DELETE FROM {MonthlyReport._meta.db_table} WHERE id = %s"
                       if connection.vendor == "postgresql" else
                       f"DELETE FROM {MonthlyReport._meta.db_table} WHERE id = %s", [stored_report.pk])
        assert not MonthlyReport.objects.filter(pk=stored_report.pk).exists()
        transaction.set_rollback(True)


def test_records_for_a_report_that_does_not_exist_are_refused(dept_report):
    category = Category.objects.get(code="admin_license")
    batch = ImportBatch.objects.filter(report=dept_report).first() or ImportBatch.objects.create(
        report=dept_report, category=category, original_name="x.xlsx", sha256="0" * 64)
    ghost = MonthlyReport(pk=dept_report.pk + 10_000, unit=dept_report.unit, period=dept_report.period)
    row = CleanRow(2, b'{"subject_name": "x"}', "营测〔2019〕1号", "x")
    with pytest.raises(IntegrityError), transaction.atomic():
        imports.records_insert([row], report=ghost, category=category, batch=batch)
    assert not Record.objects.filter(report_id=ghost.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_records_insert_needs_a_transaction(reference):
    category = Category.objects.get(code="admin_license")
    report = MonthlyReport(pk=1)
    with pytest.raises(RuntimeError, match="transaction"):
        imports.records_insert([], report=report, category=category, batch=None)
