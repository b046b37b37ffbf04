"""Rollups equal a direct count from the records, whatever happened before."""

import threading

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankings import services as stats
from rankings.models import CategoryStat, ReportStat, RollupMark
from reporting import imports, services
from reporting.models import Category, ImportBatch, MonthlyReport, Record, ReportEntry, Unit

from .factories import period, records, xlsx_bytes


def expected_stats():
    """What the statistics must say, computed straight from reports, entries and records."""
    expected = {}
    for report in MonthlyReport.objects.filter(status="accepted"):
        for entry in ReportEntry.objects.filter(report=report).select_related("category"):
            if entry.category.is_records:
                value = Record.objects.filter(report=report, category=entry.category).count()
            elif entry.count is None and not entry.is_nil:
                continue
            else:
                value = entry.count or 0
            expected[(report.unit_id, entry.category_id, report.period)] = value
    return expected


def actual_stats():
    return {(s.unit_id, s.category_id, s.period): s.value for s in CategoryStat.objects.all()}


def test_rollup_of_an_accepted_month_counts_records_and_counts(users, upload):
    county = Unit.objects.get(code="C01")
    report = services.report_get_or_create(unit=county, period=period())
    upload(report, "credit_commitment", xlsx_bytes("subject", records("subject", 12)))
    services.count_set(report=report, category=Category.objects.get(code="gov_dishonesty_unresolved"), count=4,
                       user=None)
    services.report_submit(report=report, user=None, confirm_nil=True)
    services.report_accept(report=report, user=users["office"])
    stats.stats_rollup(unit_id=county.pk, period=period())
    values = {s.category.code: s.value for s in CategoryStat.objects.filter(unit=county).select_related("category")}
    assert values["credit_commitment"] == 12
    assert values["gov_dishonesty_unresolved"] == 4
    assert values["dishonest_rep_interviews"] == 0  # declared nil at submission
    assert len(values) == 23
    assert ReportStat.objects.get(unit=county, period=period()).accepted is True


def test_rollup_twice_gives_the_same_rows(users, upload):
    unit = Unit.objects.get(code="D02")
    report = services.report_get_or_create(unit=unit, period=period())
    upload(report, "admin_penalty", xlsx_bytes("penalty", records("penalty", 7)))
    services.report_submit(report=report, user=None, confirm_nil=True)
    services.report_accept(report=report, user=None)
    stats.stats_rollup(unit_id=unit.pk, period=period())
    first = actual_stats()
    stats.stats_rollup(unit_id=unit.pk, period=period())
    assert actual_stats() == first == expected_stats()


def test_submitted_and_reopened_months_do_not_count(users, upload):
    unit = Unit.objects.get(code="D03")
    report = services.report_get_or_create(unit=unit, period=period())
    upload(report, "admin_license", xlsx_bytes("license", records("license", 5)))
    services.report_submit(report=report, user=None, confirm_nil=True)
    stats.stats_rollup(unit_id=unit.pk, period=period())
    assert not CategoryStat.objects.filter(unit=unit).exists()
    services.report_accept(report=report, user=None)
    stats.stats_rollup(unit_id=unit.pk, period=period())
    assert CategoryStat.objects.get(unit=unit, category__code="admin_license").value == 5
    services.report_reopen(report=report, user=None, reason="数据有误")
    stats.stats_rollup(unit_id=unit.pk, period=period())
    assert not CategoryStat.objects.filter(unit=unit).exists()


def test_status_changes_write_a_pending_mark_in_the_same_transaction(users, django_capture_on_commit_callbacks):
    unit = Unit.objects.get(code="D04")
    report = services.report_get_or_create(unit=unit, period=period())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.report_submit(report=report, user=None, confirm_nil=True)
    mark = RollupMark.objects.get(unit=unit, period=period())
    assert mark.pending is True
    assert len(callbacks) == 1  # the enqueue waits for the commit


def test_full_rebuild_clears_pending_marks_and_matches_direct_counts(users, upload):
    for code, n in (("D05", 3), ("D06", 9)):
        report = services.report_get_or_create(unit=Unit.objects.get(code=code), period=period())
        upload(report, "admin_license", xlsx_bytes("license", records("license", n)))
        services.report_submit(report=report, user=None, confirm_nil=True)
        services.report_accept(report=report, user=None)
    CategoryStat.objects.all().delete()
    RollupMark.objects.update(pending=True)
    stats.stats_rebuild()
    assert actual_stats() == expected_stats()
    assert not RollupMark.objects.filter(pending=True).exists()


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["upload", "submit", "accept", "return", "reopen", "rollup", "rebuild"]),
              st.sampled_from(["D07", "C02"]), st.integers(min_value=0, max_value=6)),
    min_size=1, max_size=14,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_rollup_equals_direct_count_after_any_sequence(reference, tmp_path, actions):
    """Random accept / reopen / re-upload sequences: after a final rollup the stats are exact."""
    Record.objects.all().delete()
    CategoryStat.objects.all().delete()
    MonthlyReport.objects.update(status="draft", first_submitted_at=None, on_time=None)
    ReportEntry.objects.update(record_count=0, is_nil=False, count=None, current_batch=None)
    category = Category.objects.get(code="admin_license")
    for step, (action, code, n) in enumerate(actions):
        report = services.report_get_or_create(unit=Unit.objects.get(code=code), period=period())
        try:
            if action == "upload":
                path = tmp_path / f"u{step}.xlsx"
                path.write_bytes(xlsx_bytes("license", records("license", n + 1, start=step * 10)))
                with open(path, "rb") as f:
                    batch = imports.batch_create(report=report, category=category, fileobj=f, name=path.name,
                                                  user=None)
                imports.records_import(batch_id=batch.pk)
            elif action == "submit":
                services.report_submit(report=report, user=None, confirm_nil=True)
            elif action == "accept":
                services.report_accept(report=report, user=None)
            elif action == "return":
                services.report_return(report=report, user=None, reason="请更正")
            elif action == "reopen":
                services.report_reopen(report=report, user=None, reason="重新核对")
            elif action == "rollup":
                stats.stats_rollup(unit_id=report.unit_id, period=period())
            else:
                stats.stats_rebuild()
        except services.ServiceError:
            pass  # an action not allowed in the current state changes nothing
    for code in ("D07", "C02"):
        stats.stats_rollup(unit_id=Unit.objects.get(code=code).pk, period=period())
    assert actual_stats() == expected_stats()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_rollups_of_the_same_month_give_the_exact_result(users, upload):
    unit = Unit.objects.get(code="D08")
    report = services.report_get_or_create(unit=unit, period=period())
    batch = upload(report, "admin_license", xlsx_bytes("license", records("license", 40)))
    assert batch.status == ImportBatch.Status.SUCCEEDED
    services.report_submit(report=report, user=None, confirm_nil=True)
    services.report_accept(report=report, user=None)
    CategoryStat.objects.all().delete()

    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            stats.stats_rollup(unit_id=unit.pk, period=period())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert CategoryStat.objects.get(unit=unit, category__code="admin_license").value == 40
    assert actual_stats() == expected_stats()
