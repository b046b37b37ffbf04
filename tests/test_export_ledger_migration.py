"""exports migration 0003: the ledger's one-row-per-record table becomes lists per run, unit and month; the rows
that went out before move over (so --since-last still knows them), and the migration reverses."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("exports", "0002_exportjob")]
AFTER = [("exports", "0003_compact_ledger")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_ledger_rows_move_into_lists_and_back():
    try:
        apps = _migrate(BEFORE)
        Unit, Category = apps.get_model("reporting", "Unit"), apps.get_model("reporting", "Category")
        Run, Old = apps.get_model("exports", "ExportRun"), apps.get_model("exports", "ExportedRecord")
        d01 = Unit.objects.create(code="T01", name="测试单位一", kind="department")
        d02 = Unit.objects.create(code="T02", name="测试单位二", kind="department")
        category = Category.objects.create(code="t_license", name="测试许可", measure="records", schema="license",
                                           applies_to="department")
        aug, sep = datetime.date(2019, 8, 1), datetime.date(2019, 9, 1)
        first = Run.objects.create(category=category, period_from=aug, period_through=sep, format="csv", rows=3,
                                   sha256="a" * 64, file_name="/tmp/a.csv")
        second = Run.objects.create(category=category, period_from=aug, period_through=aug, format="csv", rows=1,
                                    since_last=True, withdrawn=1, sha256="b" * 64, file_name="/tmp/b.csv")
        rows = [
            (first, d01, aug, "营测〔2019〕1号", -5),
            (first, d01, aug, "营测〔2019〕2号", 2**63 - 1),
            (first, d02, sep, '带"引号\\和,逗号', -(2**63)),
            (second, d01, aug, "营测〔2019〕1号", 7),
            (second, d01, aug, "营测〔2019〕2号", None),
        ]
        Old.objects.bulk_create([Old(run=run, unit=unit, period=period, doc_number=doc, content_key=key)
                                 for run, unit, period, doc, key in rows])

        apps = _migrate(AFTER)
        Ledger = apps.get_model("exports", "ExportLedger")
        moved = sorted((part.run_id, part.unit_id, part.period, part.count, part.doc_numbers, part.content_keys)
                       for part in Ledger.objects.all())
        Run = apps.get_model("exports", "ExportRun")
        assert set(Run.objects.values_list("content_hash", flat=True)) == {"md5"}  # their keys are MD5's
        assert Run._meta.get_field("content_hash").default == "sha256"  # new runs'
        assert moved == [
            (first.pk, d01.pk, aug, 2, ["营测〔2019〕1号", "营测〔2019〕2号"], [-5, 2**63 - 1]),
            (first.pk, d02.pk, sep, 1, ['带"引号\\和,逗号'], [-(2**63)]),
            (second.pk, d01.pk, aug, 2, ["营测〔2019〕1号", "营测〔2019〕2号"], [7, None]),
        ]

        apps = _migrate(BEFORE)
        Old = apps.get_model("exports", "ExportedRecord")
        back = sorted((r.run_id, r.unit_id, r.period, r.doc_number, r.content_key) for r in Old.objects.all())
        assert back == sorted((run.pk, unit.pk, period, doc, key) for run, unit, period, doc, key in rows)
    finally:
        _migrate([("exports", "0003_compact_ledger")])


@pytest.mark.django_db(transaction=True)
def test_the_migration_is_not_reversed_over_runs_with_sha256_keys():
    """Before 0003 every key is read as MD5, and migrating forward again would label SHA-256 runs MD5 (their
    unchanged records would all go out again): the reverse refuses instead."""
    try:
        apps = _migrate(AFTER)
        Unit, Category = apps.get_model("reporting", "Unit"), apps.get_model("reporting", "Category")
        Run, Ledger = apps.get_model("exports", "ExportRun"), apps.get_model("exports", "ExportLedger")
        unit = Unit.objects.create(code="T01", name="测试单位", kind="department")
        category = Category.objects.create(code="t_license", name="测试许可", measure="records", schema="license",
                                           applies_to="department")
        aug = datetime.date(2019, 8, 1)
        run = Run.objects.create(category=category, period_from=aug, period_through=aug, format="csv", rows=1,
                                 sha256="a" * 64, file_name="/tmp/a.csv", content_hash="sha256")
        Ledger.objects.create(run=run, unit=unit, period=aug, count=1, doc_numbers=["X"], content_keys=[5])
        with pytest.raises(RuntimeError, match="SHA-256"):
            _migrate(BEFORE)
        assert apps.get_model("exports", "ExportRun").objects.get(pk=run.pk).content_hash == "sha256"
    finally:
        _migrate(AFTER)
