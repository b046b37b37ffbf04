"""Benchmark: the public disclosure pages (信用信息公示, /gongshi/) at 1,000,000 licenses and penalties.

The records are bench_stats.py's 1,000,000 with bench_lookup.py's subjects (200,000: 85% companies
with codes, 15% persons with ID numbers), both run first by their own seed functions.  This benchmark's
database then turns every record into a 行政许可 (even ids) or a 行政处罚 (odd ids) with a 文书号, a
decision date in its month and, for penalties, a 公示截止期 between 3 months and 3 years after the
decision (so part of them has ended), and builds the public entries (disclosure.services.entries_rebuild,
timed).  Use a database of its own: the records' categories change.

Figures are whole pages through Django's test client (server time: query, masking, rendering), with the
page cache off (DISCLOSURE_CACHE_SECONDS=0) and the throttle off, and then once with the cache on.

Run: BENCH_DATABASE_URL=postgres://…/cp_bench_disclosure PYTHONPATH=. python benchmarks/bench_disclosure.py
"""

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import machine_reference, setup_django  # noqa: E402

SEED = 12
RUNS = 60


def seed():
    """Licenses and penalties out of the seeded records (once), then the public entries (once)."""
    from django.db import connection, transaction

    from disclosure.models import PublicEntry
    from disclosure.services import entries_rebuild
    from reporting.models import Category

    license_id = Category.objects.get(code="admin_license").pk
    penalty_id = Category.objects.get(code="admin_penalty").pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM reporting_record WHERE data = '{}')")
        converted = not cursor.fetchone()[0]  # bench_stats.py's records have empty contents
    if not converted:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE reporting_record r SET
                  category_id = CASE WHEN r.id %% 2 = 0 THEN %(license)s ELSE %(penalty)s END,
                  doc_number = CASE WHEN r.id %% 2 = 0 THEN '营审〔2025〕' ELSE '营市监罚〔2025〕' END || r.id || '号',
                  record_date = date_trunc('month', r.record_date)::date + (r.id %% 28)::int
                """,
                {"license": license_id, "penalty": penalty_id},
            )
            cursor.execute(
                """
                UPDATE reporting_record r SET data = jsonb_strip_nulls(jsonb_build_object(
                  'subject_name', r.subject_name,
                  'subject_type', CASE WHEN r.id_number <> '' THEN '自然人' ELSE '法人及非法人组织' END,
                  'credit_code', NULLIF(r.credit_code, ''),
                  'id_type', CASE WHEN r.id_number <> '' THEN '居民身份证' END,
                  'id_number', NULLIF(r.id_number, ''),
                  'legal_rep', CASE WHEN r.id_number = '' THEN '张三' END,
                  'doc_number', r.doc_number,
                  'decision_date', r.record_date::text,
                  'license_kind', CASE WHEN r.category_id = %(license)s THEN '普通' END,
                  'content', CASE WHEN r.category_id = %(license)s THEN '预包装食品销售' END,
                  'penalty_kind', CASE WHEN r.category_id <> %(license)s THEN '罚款' END,
                  'facts', CASE WHEN r.category_id <> %(license)s THEN '经查，当事人' || r.subject_name || '违法经营。' END,
                  'valid_until', CASE WHEN r.category_id <> %(license)s
                                      THEN (r.record_date + 365 * 5)::text END,
                  'publish_until', CASE WHEN r.category_id <> %(license)s
                                        THEN (r.record_date + 90 + (r.id %% 1006)::int)::text END,
                  'authority', '营口市市场监督管理局'))::text
                """,
                {"license": license_id},
            )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reporting_record")
        print(f"converted the records into licenses and penalties in {time.perf_counter() - started:.0f} s",
              flush=True)
        PublicEntry.objects.all().delete()
    if not PublicEntry.objects.exists():
        started = time.perf_counter()
        written = entries_rebuild()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE disclosure_publicentry")
        print(f"entries_rebuild: {written:,} public entries in {time.perf_counter() - started:.0f} s", flush=True)


def timed_each(fn, args):
    """(median ms, p95 ms, max ms) of fn(arg) over the args."""
    times = []
    for arg in args:
        start = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2], times[max(int(len(times) * 0.95) - 1, 0)], times[-1]


def report(label, figures):
    median, p95, worst = figures
    print(f"{label}: p50 {median:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms", flush=True)


def sample(sql, params, count, rng):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        values = [row[0] for row in cursor.fetchall()]
    rng.shuffle(values)
    return values[:count]


def pages(rng):
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from benchmarks.bench_lookup import _region

    settings.DISCLOSURE_CACHE_SECONDS = 0
    settings.DISCLOSURE_RATE = "0/minute"
    client = Client()
    today = timezone.localdate()

    def get(path):
        def fetch(params):
            response = client.get(path, params)
            assert response.status_code == 200, (path, params, response.status_code)
            return response
        return fetch

    names = sample("SELECT name FROM disclosure_publicentry TABLESAMPLE SYSTEM (1) WHERE name_searchable "
                   "AND kind = 'penalty' AND publicity_end >= %s", [today], 400, rng)
    codes = sample("SELECT credit_code FROM disclosure_publicentry TABLESAMPLE SYSTEM (1) WHERE credit_code <> ''",
                   [], 200, rng)
    docs = sample("SELECT doc_number FROM disclosure_publicentry TABLESAMPLE SYSTEM (1) WHERE kind = 'license'",
                  [], 200, rng)
    fragments = [n[len(_region(n)):len(_region(n)) + 4] for n in names]
    print(f"visible now: {_count('license', today):,} licenses, {_count('penalty', today):,} penalties "
          f"within their 公示 period", flush=True)

    report("landing page /gongshi/ (newest 10 of each)", timed_each(get("/gongshi/"), [{}] * RUNS))
    report("license list, page 1 /gongshi/xuke/", timed_each(get("/gongshi/xuke/"), [{}] * RUNS))
    report("penalty list, page 1 /gongshi/chufa/", timed_each(get("/gongshi/chufa/"), [{}] * RUNS))
    report("penalty list, last page served (50)", timed_each(get("/gongshi/chufa/"), [{"page": 50}] * RUNS))
    report("penalty name search, full company name",
           timed_each(get("/gongshi/chufa/"), [{"by": "name", "q": n} for n in names[:RUNS]]))
    report("penalty name search, 4-character fragment (trade name)",
           timed_each(get("/gongshi/chufa/"), [{"by": "name", "q": f} for f in fragments[:RUNS]]))
    report("penalty name search, very common fragment 贸易有限公司",
           timed_each(get("/gongshi/chufa/"), [{"by": "name", "q": "贸易有限公司"}] * 20))
    report("penalty name search, nothing found (恒昌鑫源)",
           timed_each(get("/gongshi/chufa/"), [{"by": "name", "q": "恒昌鑫源"}] * 20))
    report("license code search", timed_each(get("/gongshi/xuke/"), [{"by": "code", "q": c} for c in codes[:RUNS]]))
    report("license 文书号 search, exact", timed_each(get("/gongshi/xuke/"), [{"by": "doc", "q": d} for d in docs[:RUNS]]))
    report("license 文书号 search, prefix (first 10 characters)",
           timed_each(get("/gongshi/xuke/"), [{"by": "doc", "q": d[:10]} for d in docs[:RUNS]]))
    ids = sample("SELECT record_id FROM disclosure_publicentry TABLESAMPLE SYSTEM (1) WHERE kind = 'penalty' "
                 "AND publicity_end >= %s", [today], RUNS, rng)
    report("penalty detail page", timed_each(lambda pk: get(f"/gongshi/chufa/{pk}/")({}), ids))

    settings.DISCLOSURE_CACHE_SECONDS = 300
    client.get("/gongshi/chufa/", {"by": "name", "q": "贸易有限公司"})
    report("cached page (second request, any list or search)",
           timed_each(get("/gongshi/chufa/"), [{"by": "name", "q": "贸易有限公司"}] * RUNS))


def _count(kind, today):
    from disclosure.models import PublicEntry

    found = PublicEntry.objects.filter(kind=kind)
    return found.filter(publicity_end__gte=today).count() if kind == "penalty" else found.count()


def acceptance_cost():
    """What the public entries add to accepting one month (entries_sync_report, in its transaction)."""
    from django.db import transaction

    from disclosure.services import entries_sync_report
    from reporting.models import MonthlyReport, Record

    report_id = MonthlyReport.objects.filter(status="accepted").order_by("pk").values_list("pk", flat=True).first()
    records = Record.objects.filter(report_id=report_id).count()
    times = []
    for _ in range(5):
        with transaction.atomic():
            start = time.perf_counter()
            entries_sync_report(report_id=report_id)
            times.append((time.perf_counter() - start) * 1000)
            transaction.set_rollback(True)
    times.sort()
    print(f"entries for one accepted month ({records:,} records): median {times[2]:.0f} ms "
          f"(≈ {times[2] / max(records, 1) * 100_000 / 1000:.1f} s per 100,000 records)", flush=True)


def explain():
    """The plans of the list and the searches, to see the indexes at work."""
    from django.db import connection
    from django.utils import timezone

    from disclosure import selectors

    today = timezone.localdate()
    for label, search in (("penalty list", None), ("name", selectors.Search("name", "恒昌鑫源")),
                          ("doc prefix", selectors.Search("doc", "营市监罚〔2025〕12"))):
        sql, params = selectors.entries("penalty", search, today=today)[:20].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            print(f"-- plan, {label}:\n" + "\n".join("   " + row[0] for row in cursor.fetchall()[:8]), flush=True)


def main():
    setup_django()
    print(f"本机速度参考 / machine reference: 3,000,000 Python loop steps in {machine_reference():.3f} s", flush=True)
    from benchmarks import bench_lookup, bench_stats

    print("seeding records…" if bench_stats.seed() else "records seeded", flush=True)
    print("seeding subjects…" if bench_lookup.seed() else "subjects seeded", flush=True)
    seed()
    from disclosure.models import PublicEntry

    print(f"dataset: {PublicEntry.objects.count():,} public entries (licenses and penalties of accepted months)",
          flush=True)
    explain()
    pages(random.Random(SEED))
    acceptance_cost()


if __name__ == "__main__":
    main()
