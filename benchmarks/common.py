"""Shared set-up for benchmarks: a dedicated PostgreSQL database, migrated and loaded."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/credit_portal_bench"


def setup_django():
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "credit_portal.settings")
    os.environ.setdefault("MEDIA_ROOT", "/tmp/credit_portal_bench_media")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    _create_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0)


def analyze():
    """Planner statistics for every table, as autovacuum keeps them in production (a benchmark calls this
    after seeding; not every child process: the export ledger's arrays make it take seconds).  (Some machines here run
    PostgreSQL with autovacuum off: without them the statistics rebuild planned nested loops over a
    monthly-report table it believed held 3 rows, and took 4.5 s instead of 2.1 s.)"""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _create_database(url):
    import psycopg2
    from psycopg2 import sql

    name = url.rsplit("/", 1)[1]
    conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()


def peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_reference():
    """Seconds for a fixed pure-Python loop: how fast this machine is right now (shared VMs vary a lot)."""
    import time

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return best
