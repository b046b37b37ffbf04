"""Benchmark: a 100,000-row 行政许可 file validated and stored on PostgreSQL, end to end.

Target (issue 2): >= 20,000 rows/s, peak memory < 600 MB.  The file is built
in a child process first so its memory does not count against the import.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import machine_reference, peak_rss_mb, setup_django  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
FILE = Path(os.environ.get("BENCH_FILE", f"/tmp/credit_portal_bench_license_excel_{ROWS}.xlsx"))


def build_file():
    """Write the file as Excel/WPS save it (shared strings, real date cells), in a child process."""
    import datetime

    from benchmarks.excel_like import write_xlsx
    from reporting.schemas import LICENSE
    from tests.factories import header_row, record

    keys = [f.key for f in LICENSE.fields]
    dates = {f.key for f in LICENSE.fields if f.kind == "date"}

    def cells(r):
        return [datetime.date.fromisoformat(r[k]) if k in dates and r[k] else r[k] for k in keys]

    rows = [header_row("license")]
    rows += [cells(record("license", n, doc_number=f"营审批〔2019〕第{n}号")) for n in range(ROWS)]
    write_xlsx(FILE, rows)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--build":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "credit_portal.settings")
        import django

        django.setup()
        build_file()
        return
    if not FILE.exists():
        print(f"building {FILE} ({ROWS} rows)…", flush=True)
        subprocess.run([sys.executable, __file__, "--build"], check=True)
    setup_django()
    print(f"本机速度参考 / machine reference: 3,000,000 Python loop steps in {machine_reference():.3f} s", flush=True)
    import datetime

    from reporting import imports, services
    from reporting.models import Category, ImportBatch, Record, Unit

    unit = Unit.objects.get(code="D01")
    category = Category.objects.get(code="admin_license")
    period = datetime.date(2019, 8, 1)
    report = services.report_get_or_create(unit=unit, period=period)
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    base_rss = peak_rss_mb()
    times = []
    for _ in range(runs):
        _reset(report, category)
        start = time.perf_counter()
        with open(FILE, "rb") as f:
            batch = imports.batch_create(report=report, category=category, fileobj=f, name="bench.xlsx", user=None)
        batch = imports.records_import(batch_id=batch.pk)
        times.append(time.perf_counter() - start)
        assert batch.status == ImportBatch.Status.SUCCEEDED, (batch.status, batch.message, batch.errors[:3])
        assert Record.objects.filter(report=report, category=category).count() == ROWS
    _reset(report, category)
    median = statistics.median(times)
    print(f"import_records: {ROWS} license rows, {FILE.stat().st_size / 1e6:.1f} MB xlsx, {runs} runs: "
          + ", ".join(f"{t:.2f} s" for t in times)
          + f"; median {median:.2f} s = {ROWS / median:,.0f} rows/s, best {ROWS / min(times):,.0f} rows/s "
          f"(target >= 20,000); peak RSS {peak_rss_mb():.0f} MB (before import {base_rss:.0f} MB; target < 600 MB)")


def _reset(report, category):
    """Reruns start from the same state: no stored records, no current file."""
    from django.db import connection

    from reporting.models import Record, ReportEntry

    Record.objects.filter(report=report, category=category).delete()
    ReportEntry.objects.filter(report=report, category=category).update(record_count=0, current_batch=None)
    # Each run measures a first upload: don't let autovacuum of the previous run's rows compete with it.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM reporting_record")


if __name__ == "__main__":
    main()
