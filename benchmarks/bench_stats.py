"""Benchmark: statistics at 1,000,000 records (63 units x 12 months) on PostgreSQL.

Targets (issue 3): full rebuild <= 2 s; a (unit, month) rollup <= 50 ms; the
full-year table page <= 100 ms server time; an acceptance visible in the
table <= 5 s with a real worker.  Issue 4: the rankings page <= 150 ms.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import analyze, machine_reference, setup_django  # noqa: E402

YEAR = 2025
RECORDS = int(os.environ.get("BENCH_STAT_RECORDS", "1000000"))
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")


def seed():
    """Accepted reports for every unit and month of YEAR, with RECORDS records spread over them."""
    import datetime

    from django.db import connection, transaction
    from django.utils import timezone

    from reporting.models import Category, ImportBatch, MonthlyReport, Record, ReportEntry, Unit

    if Record.objects.filter(report__period__year=YEAR).count() >= RECORDS:
        return False
    with transaction.atomic():
        Record.objects.filter(report__period__year=YEAR).delete()
        now = timezone.now()
        units = list(Unit.objects.all())
        reports = []
        for unit in units:
            for month in range(1, 13):
                report, _ = MonthlyReport.objects.update_or_create(
                    unit=unit, period=datetime.date(YEAR, month, 1),
                    defaults={"status": "accepted", "submitted_at": now, "first_submitted_at": now, "on_time": True},
                )
                reports.append(report)
        existing = set(ReportEntry.objects.filter(report__in=reports).values_list("report_id", "category_id"))
        ReportEntry.objects.bulk_create(
            [ReportEntry(report=r, category=c, count=3 if not c.is_records else None)
             for r in reports for c in r.unit.categories() if (r.pk, c.pk) not in existing],
            batch_size=5000,
        )
        category = Category.objects.get(code="admin_license")
        batches = ImportBatch.objects.bulk_create(
            [ImportBatch(report=r, category=category, original_name="bench.xlsx", sha256="0" * 64,
                         status="succeeded") for r in reports]
        )
        common = list(Category.objects.filter(measure="records", applies_to__contains="department")
                      .order_by("order").values_list("id", flat=True))
        per_report = RECORDS // len(reports) + 1
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO reporting_record (report_id, unit_id, category_id, batch_id, row_number, doc_number,
                                              subject_name, credit_code, id_number, record_date, data)
                SELECT b.report_id, r.unit_id, (%s::bigint[])[1 + g %% %s], b.id, g, '', '基准测试主体', '', '',
                       r.period, '{}'::jsonb
                FROM reporting_importbatch b
                JOIN reporting_monthlyreport r ON r.id = b.report_id
                CROSS JOIN generate_series(1, %s) g
                WHERE b.id = ANY(%s) AND (b.id - %s) * %s + g <= %s
                """,
                [common, len(common), per_report, [b.pk for b in batches], batches[0].pk, per_report, RECORDS],
            )
    # What autovacuum does soon after a bulk load: statistics, and the visibility map that lets
    # the rollup's counts be index-only scans.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reporting_record")
    return True


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main():
    setup_django()
    print(f"本机速度参考 / machine reference: 3,000,000 Python loop steps in {machine_reference():.3f} s", flush=True)
    from django.test import Client

    from rankings import services
    from rankings.models import CategoryStat, StatTable
    from rankings.selectors import table_compute
    from reporting.models import Record, Unit, User

    print("seeding…" if seed() else "using seeded data", flush=True)
    analyze()
    total = Record.objects.filter(report__period__year=YEAR).count()
    print(f"dataset: {total:,} records, 63 units x 12 months of {YEAR}")

    best, median = timed(services.stats_rebuild, 3)
    print(f"full rebuild: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms (target <= 2000 ms); "
          f"{CategoryStat.objects.count():,} stat rows")

    unit = Unit.objects.get(code="D01")
    import datetime

    month = datetime.date(YEAR, 6, 1)
    best, median = timed(lambda: services.stats_rollup(unit_id=unit.pk, period=month), 20)
    print(f"(unit, month) rollup: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms (target <= 50 ms)")

    table = StatTable.objects.get(code="department")
    best, median = timed(lambda: table_compute(table, year=YEAR, first=1, last=12), 20)
    print(f"table_compute department 1-12: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms")

    office, _ = User.objects.get_or_create(username="bench_office", defaults={"is_staff": True,
                                                                               "is_superuser": True})
    client = Client()
    client.force_login(office)
    for code in ("department", "county_park"):
        url = f"/stats/tables/{code}/?year={YEAR}&from=1&through=12"
        response = client.get(url)
        if response.status_code != 200:
            print(f"table page {url}: HTTP {response.status_code} (page not available)")
            continue
        best, median = timed(lambda u=url: client.get(u), 20)
        print(f"table page {code} full year: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms "
              f"server time (target <= 100 ms)")

    for kind in ("department", "county", "park"):
        url = f"/stats/rankings/{kind}/?year={YEAR}&from=1&through=12"
        response = client.get(url)
        if response.status_code != 200:
            print(f"rankings page {url}: HTTP {response.status_code}")
            continue
        best, median = timed(lambda u=url: client.get(u), 20)
        print(f"rankings page {kind} full year: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms "
              f"server time (target <= 150 ms)")

    acceptance_latency(unit, month)


def acceptance_latency(unit, month):
    """Reopen, resubmit and accept one month; time until a real worker's rollup shows it."""
    from django.db import connection

    from rankings.models import CategoryStat
    from reporting import services
    from reporting.models import MonthlyReport
    from tests.worker import Worker, publishing_to, wait_for

    try:
        import redis

        redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        print(f"acceptance latency: skipped, Redis unreachable ({exc})")
        return
    worker = Worker(broker_url=BROKER, database_url=os.environ["DATABASE_URL"],
                    media_root=os.environ["MEDIA_ROOT"], log_path="/tmp/credit_portal_bench_worker.log").start()
    try:
        report = MonthlyReport.objects.get(unit=unit, period=month)
        with publishing_to(BROKER) as app:
            app.control.purge()
            services.report_reopen(report=report, user=None, reason="基准测试")
            assert wait_for(lambda: not CategoryStat.objects.filter(unit=unit, period=month).exists(), 10)
            services.report_submit(report=report, user=None, confirm_nil=True)
            start = time.perf_counter()
            services.report_accept(report=report, user=None)
            connection.close()
            visible = wait_for(lambda: CategoryStat.objects.filter(unit=unit, period=month).exists(), 10, 0.01)
            elapsed = time.perf_counter() - start
        print(f"acceptance visible in statistics with a worker: {elapsed * 1000:.0f} ms "
              f"({'ok' if visible else 'NOT visible'}; target <= 5000 ms)")
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
