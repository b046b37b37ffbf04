"""Benchmark: the national-format export (归集) of 1,000,000 accepted licence records on PostgreSQL.

Target (issue 12): <= 10 s for 1,000,000 rows, memory flat between 100,000 and 1,000,000 rows.

The dataset: accepted reports for every unit and month of YEAR (63 x 12), with RECORDS licence
records spread over them, written by one INSERT … SELECT on the server in report order (as uploads' COPY lays them out) (realistic JSON contents:
companies, persons with ID numbers, 个体工商户, 有效/无效, 长期 validity), once.  The export log is
emptied before the runs, so every figure starts from the same ledger.

Each export runs in a child process of this script, which reports its own peak resident set size
(VmHWM from /proc/self/status) and how long the ledger (COPY of one row per record) took.

Its own database: the million accepted licences would otherwise join the lookup benchmark's searchable
records.  The name is BENCH_DATABASE_URL's with "_export" appended (credit_portal_bench_export under
`make bench`), unless it already ends in "export".

Run: BENCH_DATABASE_URL=postgres://… PYTHONPATH=. python benchmarks/bench_export.py
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import machine_reference, setup_django  # noqa: E402

YEAR = 2024
RECORDS = int(os.environ.get("BENCH_EXPORT_RECORDS", "1000000"))
OUT = Path(os.environ.get("BENCH_EXPORT_DIR", "/tmp"))


def seed():
    """Accepted reports for every unit and month of YEAR with RECORDS licence records; False when already there."""
    import datetime

    from django.db import connection, transaction
    from django.utils import timezone

    from reporting.models import Category, ImportBatch, MonthlyReport, Record, ReportEntry, Unit

    category = Category.objects.get(code="admin_license")
    existing = Record.objects.filter(category=category, report__period__year=YEAR, report__status="accepted").count()
    if existing >= RECORDS:
        return False
    with transaction.atomic():
        Record.objects.filter(category=category, report__period__year=YEAR).delete()
        now = timezone.now()
        reports = []
        for unit in Unit.objects.order_by("code"):
            for month in range(1, 13):
                report, _ = MonthlyReport.objects.update_or_create(
                    unit=unit, period=datetime.date(YEAR, month, 1),
                    defaults={"status": "accepted", "submitted_at": now, "first_submitted_at": now, "on_time": True},
                )
                reports.append(report)
        ReportEntry.objects.bulk_create([ReportEntry(report=r, category=category) for r in reports],
                                        ignore_conflicts=True)
        batches = ImportBatch.objects.bulk_create(
            [ImportBatch(report=r, category=category, original_name="bench_export.xlsx", sha256="e" * 64,
                         status="succeeded") for r in reports]
        )
        per_report = RECORDS // len(reports) + 1
        with connection.cursor() as cursor:
            # n: the record's number; kind cycles company / person / 个体工商户 (7:2:1).
            cursor.execute(
                """
                INSERT INTO reporting_record (report_id, unit_id, category_id, batch_id, row_number, doc_number,
                                              subject_name, credit_code, id_number, record_date, data)
                SELECT b.report_id, r.unit_id, %s, b.id, g + 1, d.doc, d.name, d.code, d.idn, r.period,
                       '{"subject_name":"' || d.name || '","subject_type":"' || d.kind || '","credit_code":"' || d.code
                       || '","legal_rep":"' || CASE WHEN d.person THEN '' ELSE '张三' END
                       || '","id_type":"' || CASE WHEN d.person THEN '居民身份证' ELSE '' END
                       || '","id_number":"' || d.idn
                       || '","doc_name":"食品经营许可决定书","doc_number":"' || d.doc
                       || '","license_kind":"' || (ARRAY['普通','特许','认可','核准','登记','其他'])[1 + g %% 6]
                       || '","cert_name":"食品经营许可证","cert_number":"JY1210800' || lpad(g::text, 7, '0')
                       || '","content":"预包装食品销售（含冷藏冷冻食品），散装食品销售（不含冷藏冷冻食品），热食类食品制售'
                       || '","decision_date":"' || to_char(r.period + (g %% 28), 'YYYY-MM-DD')
                       || '","valid_from":"' || to_char(r.period + (g %% 28), 'YYYY-MM-DD')
                       || '","valid_to":"' || CASE WHEN g %% 10 = 0 THEN '2099-12-31'
                                                   ELSE to_char(r.period + (g %% 28) + 1826, 'YYYY-MM-DD') END
                       || '","authority":"营口市行政审批局","authority_code":"11210800MB1234560X"'
                       || ',"status":"' || CASE WHEN g %% 17 = 0 THEN '无效' ELSE '有效' END
                       || '","source_unit":"营口市行政审批局","source_unit_code":"11210800MB1234560X","remark":"'
                       || CASE WHEN g %% 50 = 0 THEN '=备注以等号开头' ELSE '' END || '"}'
                FROM reporting_importbatch b
                JOIN reporting_monthlyreport r ON r.id = b.report_id
                CROSS JOIN generate_series(0, %s - 1) g
                CROSS JOIN LATERAL (SELECT
                    g %% 10 IN (7, 8) AS person,
                    CASE WHEN g %% 10 IN (7, 8) THEN '自然人' WHEN g %% 10 = 9 THEN '个体工商户'
                         ELSE '法人及非法人组织' END AS kind,
                    CASE WHEN g %% 10 IN (7, 8) THEN '王' || (ARRAY['伟','芳','娜','敏','静'])[1 + g %% 5]
                         ELSE '营口市' || (ARRAY['恒昌','顺达','兴隆','鑫源','华泰'])[1 + b.id %% 5]
                              || (ARRAY['贸易','商贸','食品','物流'])[1 + g %% 4] || '有限公司' || g END AS name,
                    CASE WHEN g %% 10 IN (7, 8) THEN '' ELSE '91210800MA' || lpad((b.id * 10000 + g)::text, 8, '0')
                         END AS code,
                    CASE WHEN g %% 10 IN (7, 8) THEN '21080219800101' || lpad((g %% 10000)::text, 4, '0')
                         ELSE '' END AS idn,
                    '营审批食许〔' || r.period || '〕' || b.id || '-' || g || '号' AS doc
                ) d
                WHERE b.id = ANY(%s) AND (b.id - %s) * %s + g < %s
                ORDER BY b.id, g
                """,
                [category.pk, per_report, [b.pk for b in batches], batches[0].pk, per_report, RECORDS],
            )
        ReportEntry.objects.filter(report__in=reports, category=category).update(record_count=per_report)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reporting_record")
    return True


def child(fmt, through, since_last):
    """In a child process: one export; prints a JSON line with its figures."""
    setup_django()
    import datetime

    from exports import services

    ledger = {}
    # With worker processes the ledger is COPYd while they convert, on the export's connection: its figure
    # is how long the COPY still ran after the last rows were handed to it (what it adds to the export).
    # The serial way (--since-last) writes its ledger at the end: its figure is that.
    for cls in (services._LedgerCopy, services._Ledger):
        def timed(self, _finish=cls.finish):
            start = time.perf_counter()
            logged = _finish(self)
            ledger["seconds"] = time.perf_counter() - start
            return logged

        cls.finish = timed
    before = _status("VmRSS")
    start = time.perf_counter()
    result = services.export_disclosure(
        category="admin_license", period_from=datetime.date(YEAR, 1, 1), period_through=datetime.date(YEAR, through, 1),
        fmt=fmt, path=OUT / f"bench_export_{through}.{fmt}", since_last=since_last,
    )
    elapsed = time.perf_counter() - start
    import resource

    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker process's peak
    print(json.dumps({"rows": result.rows, "seconds": elapsed, "ledger_seconds": ledger.get("seconds", 0),
                      "size_mb": result.run.size / 1e6, "rss_before_mb": before, "peak_mb": _status("VmHWM"),
                      "workers_peak_mb": workers, "sha256": result.run.sha256}))


def _status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024


def run_child(fmt, through, since_last=False):
    args = [sys.executable, __file__, "--child", fmt, str(through), "1" if since_last else "0"]
    result = subprocess.run(args, capture_output=True, text=True, env=os.environ)
    if result.returncode:
        print(f"export {fmt} 1..{through} failed:\n{result.stderr[-3000:]}", flush=True)
        return None
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    label = f"{fmt}{' --since-last' if since_last else ''}, months 1..{through}"
    rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0
    print(f"export {label}: {figures['rows']:,} rows in {figures['seconds']:.2f} s ({rate:,.0f} rows/s; "
          f"ledger {figures['ledger_seconds']:.2f} s), file {figures['size_mb']:.0f} MB; peak RSS "
          f"{figures['peak_mb']:.0f} MB (after start-up {figures['rss_before_mb']:.0f} MB), worker processes "
          f"{figures['workers_peak_mb']:.0f} MB each at most", flush=True)
    return figures


def load():
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def _own_database():
    from benchmarks.common import DEFAULT_URL

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.rsplit("/", 1)[1].endswith("export"):
        url += "_export"
    os.environ["BENCH_DATABASE_URL"] = url


def main():
    _own_database()
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1")
        return
    setup_django()
    print(f"本机速度参考 / machine reference: 3,000,000 Python loop steps in {machine_reference():.3f} s; "
          f"load average {load()} ({os.cpu_count()} CPUs)", flush=True)
    start = time.perf_counter()
    if seed():
        print(f"seeded {RECORDS:,} accepted licence records in {time.perf_counter() - start:.0f} s", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE exports_exportledger, exports_exportjob, exports_exportrun")
    connection.close()
    results = {}
    for fmt in ("csv", "xlsx"):
        for through in (1, 12):
            results[fmt, through] = run_child(fmt, through)
    again = run_child("csv", 12)
    if again and results["csv", 12]:
        same = again["sha256"] == results["csv", 12]["sha256"]
        print(f"csv re-run: {'byte-identical' if same else 'DIFFERENT BYTES'} (sha256 {again['sha256'][:16]}…)")
    run_child("csv", 12, since_last=True)
    small, large = results.get(("csv", 1)), results.get(("csv", 12))
    if small and large:
        print(f"memory: csv peak {small['peak_mb']:.0f} MB at {small['rows']:,} rows, {large['peak_mb']:.0f} MB at "
              f"{large['rows']:,} rows; load average now {load()}", flush=True)


if __name__ == "__main__":
    main()
