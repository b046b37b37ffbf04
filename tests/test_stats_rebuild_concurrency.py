"""The full rebuild reads one snapshot: reports accepted while it runs never break it (PostgreSQL)."""

import random
import threading

import pytest
from django.db import connection, transaction

from rankings import services as stats
from rankings.models import CategoryStat, ReportStat, RollupMark
from reporting import services
from reporting.models import ImportBatch, MonthlyReport, Unit

from .factories import period, records, xlsx_bytes
from .test_rollup import actual_stats, expected_stats

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

UNITS = ["D01", "D02", "D03", "D04", "D05", "D06", "C01", "C02"]


@pytest.fixture
def submitted_reports(users, upload):
    """Submitted 2019-08 reports with 双公示 records (the rebuild's quality facts read them)."""
    reports = []
    for n, code in enumerate(UNITS):
        report = services.report_get_or_create(unit=Unit.objects.get(code=code), period=period())
        schema, category = ("license", "admin_license") if n % 2 else ("penalty", "admin_penalty")
        batch = upload(report, category, xlsx_bytes(schema, records(schema, 3 + n, start=100 * n)))
        assert batch.status == ImportBatch.Status.SUCCEEDED, batch.message
        reports.append(services.report_submit(report=report, user=None, confirm_nil=True))
    return reports


def _accept_in_thread(report, accepted, errors):
    try:
        with transaction.atomic():
            # Registered first, so it runs right at commit, before the (blocked) rollup of this month.
            transaction.on_commit(accepted.set)
            services.report_accept(report=report, user=None)
    except Exception as exc:  # pragma: no cover - reported by the test
        errors.append(exc)
        accepted.set()
    finally:
        connection.close()


def test_report_accepted_between_the_rebuilds_reads_is_not_half_seen(submitted_reports, monkeypatch):
    """The bug of issue 9: one report accepted after the rebuild listed the accepted reports and before it
    counted their records appeared in one result and not the other (KeyError).  Now the rebuild sees the
    moment it started, and the rollup of the new acceptance runs after it."""
    first, late = submitted_reports[0], submitted_reports[1]
    services.report_accept(report=first, user=None)
    accepted, errors = threading.Event(), []
    original = stats._quality_facts

    def quality_facts_after_an_acceptance(reports):
        if not accepted.is_set():
            threading.Thread(target=_accept_in_thread, args=(late, accepted, errors)).start()
            assert accepted.wait(10), "the acceptance did not commit"
        return original(reports)

    monkeypatch.setattr(stats, "_quality_facts", quality_facts_after_an_acceptance)
    stats.stats_rebuild()  # no KeyError

    assert errors == []
    rebuilt = {r.unit_id: r.accepted for r in ReportStat.objects.all()}
    assert rebuilt[first.unit_id] is True
    # The late acceptance's own rollup waited for the rebuild's lock and then brought it in.
    assert _wait(lambda: actual_stats() == expected_stats()), (actual_stats(), expected_stats())
    assert ReportStat.objects.get(unit=late.unit, period=period()).accepted is True


def _wait(predicate, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_rebuilds_while_reports_are_accepted_and_reopened_concurrently(submitted_reports):
    """Several connections accept and reopen reports while rebuilds run back to back: no exception,
    and after a last rebuild the statistics equal a direct count."""
    errors, done = [], threading.Event()
    by_thread = [submitted_reports[0::2], submitted_reports[1::2]]

    def reviewer(reports, seed):
        rng = random.Random(seed)
        try:
            for _ in range(12):
                report = rng.choice(reports)
                try:
                    if MonthlyReport.objects.get(pk=report.pk).status == "accepted":
                        services.report_reopen(report=report, user=None, reason="重新核对")
                        services.report_submit(report=report, user=None, confirm_nil=True)
                    else:
                        services.report_accept(report=report, user=None)
                except services.ServiceError:
                    pass  # the other reviewer got there first
        except Exception as exc:  # pragma: no cover - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    def rebuilder():
        try:
            while not done.is_set():
                stats.stats_rebuild()
        except Exception as exc:  # pragma: no cover - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    rebuilding = threading.Thread(target=rebuilder)
    rebuilding.start()
    reviewers = [threading.Thread(target=reviewer, args=(reports, n)) for n, reports in enumerate(by_thread)]
    for t in reviewers:
        t.start()
    for t in reviewers:
        t.join(60)
    done.set()
    rebuilding.join(60)

    assert errors == [], errors
    stats.stats_rebuild()
    assert actual_stats() == expected_stats()
    assert ReportStat.objects.count() == MonthlyReport.objects.count()
    assert CategoryStat.objects.exists()
    assert not RollupMark.objects.filter(pending=True).exists()
