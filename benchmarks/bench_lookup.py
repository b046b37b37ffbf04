"""Benchmark: credit lookup and batch checks at 1,000,000 records on PostgreSQL.

Targets (issue 11): a lookup by 统一社会信用代码 or ID number <= 20 ms, by name <= 100 ms
server time; a 10,000-row batch check <= 10 s end to end; memory flat in the batch size.

The records are bench_stats.py's 1,000,000 (63 units x 12 accepted months of 2025), which
all carry one placeholder name and no code.  The first run gives them subjects instead:
200,000 market subjects (85% companies with valid codes, 15% persons with valid ID
numbers), about five records each, spread over units, months and categories.  Only
the name and identifier columns change (and the lookup's indexes are rebuilt around
that one UPDATE), so the statistics benchmarks see the same counts as before.

Run: BENCH_DATABASE_URL=postgres://… PYTHONPATH=. python benchmarks/bench_lookup.py
(it runs its batch checks in child processes of itself, to measure their peak memory).
"""

import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import machine_reference, peak_rss_mb, setup_django  # noqa: E402

YEAR = 2025
PLACEHOLDER = "基准测试主体"
SUBJECTS = int(os.environ.get("BENCH_LOOKUP_SUBJECTS", "200000"))
PERSON_SHARE = 0.15
SEED = 11
REGIONS = ("营口市", "大石桥市", "盖州市", "站前区", "西市区", "鲅鱼圈区", "老边区", "营口经济技术开发区", "辽宁",
           "营口仙人岛", "营口沿海", "营口北海")
TRADE = ("恒昌顺达兴隆鑫源华泰宏远嘉诚瑞丰金鼎永安聚德天成富力明辉建业盛世博大中兴信达广汇祥和润泽东方海诚"
         "亿通宝龙新宇凯旋志远康泰福源益民长青腾飞佳美联创汇丰正阳万通卓越鸿运同心")
INDUSTRIES = ("贸易", "商贸", "建材", "建筑工程", "物流", "食品", "餐饮管理", "科技", "机械制造", "化工", "医药",
              "农业发展", "水产", "装饰工程", "汽车销售", "房地产开发", "物业管理", "石油化工", "电子商务", "钢材",
              "劳务", "运输", "粮油", "印务", "电力工程")
SUFFIXES = ("有限公司", "有限公司", "有限责任公司", "股份有限公司", "商店", "经营部")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志宏海燕雪梅晓东春"


# --- the dataset ----------------------------------------------------------------------


def _subjects():
    """(name, credit code, ID number) of SUBJECTS subjects, always the same ones."""
    from reporting.validators import USCC_ALPHABET, id_check_char, uscc_check_char

    rng = random.Random(SEED)
    rows = []
    for n in range(SUBJECTS):
        if rng.random() < PERSON_SHARE:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            born = f"{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            body = f"2108{rng.randint(1, 99):02d}{born}{n % 1000:03d}"
            rows.append((name, "", body + id_check_char(body)))
        else:
            name = (rng.choice(REGIONS) + rng.choice(TRADE) + rng.choice(TRADE) + rng.choice(INDUSTRIES)
                    + rng.choice(SUFFIXES))
            body = "912108" + "".join(USCC_ALPHABET[(n // 31**i) % 31] for i in range(5)) + "".join(
                rng.choice(USCC_ALPHABET) for _ in range(6))
            rows.append((name, body + uscc_check_char(body), ""))
    return rows


def _index_migration():
    return importlib.import_module("lookup.migrations.0003_partial_search_indexes")


def seed():
    """Give the placeholder records their subjects (once); the lookup's indexes are rebuilt around the UPDATE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM reporting_record WHERE subject_name = %s)", [PLACEHOLDER])
        if not cursor.fetchone()[0]:
            return False
    migration = _index_migration()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name in migration.INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute("CREATE TEMP TABLE bench_subject (n integer PRIMARY KEY, name text, code text, id_number text)")
        cursor.copy_from(_copy_source(_subjects()), "bench_subject", columns=("n", "name", "code", "id_number"))
        cursor.execute(
            """
            UPDATE reporting_record r SET subject_name = s.name, credit_code = s.code, id_number = s.id_number
            FROM bench_subject s WHERE s.n = r.id %% %s AND r.subject_name = %s
            """,
            [SUBJECTS, PLACEHOLDER],
        )
        updated = cursor.rowcount
        cursor.execute("DROP TABLE bench_subject")
    _create_indexes(connection, migration)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reporting_record")
    print(f"seeded {updated:,} records with {SUBJECTS:,} subjects in {time.perf_counter() - started:.0f} s",
          flush=True)
    return True


def _copy_source(subjects):
    import io

    text = "".join(f"{n}\t{name}\t{code}\t{id_number}\n" for n, (name, code, id_number) in enumerate(subjects))
    return io.StringIO(text)


def _create_indexes(connection, migration):
    """The lookup migration's own index definitions, run on this connection (outside a transaction)."""
    with connection.schema_editor(atomic=False) as editor:
        migration.create_indexes(None, editor)


# --- timing ---------------------------------------------------------------------------


def timed_each(fn, args):
    """(median ms, p95 ms, max ms) of fn(arg) over the args."""
    times = []
    for arg in args:
        start = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], times[-1]


def report(label, figures, target):
    median, p95, worst = figures
    print(f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms (target <= {target} ms)",
          flush=True)


def sample(field, count, rng):
    """`count` random non-empty values of a column among searchable records (accepted, subject categories)."""
    from django.db import connection

    from lookup.selectors import lookup_scope

    scope = lookup_scope()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT {field} FROM reporting_record TABLESAMPLE SYSTEM (2) "
            f"WHERE {field} <> '' AND category_id = ANY(%s) AND report_id = ANY(ARRAY("
            f"SELECT id FROM reporting_monthlyreport WHERE status = 'accepted'))",
            [list(scope.categories)],
        )
        values = [row[0] for row in cursor.fetchall()]
    rng.shuffle(values)
    return values[:count]


def lookups(rng):
    from django.test import Client

    from lookup import selectors, services
    from lookup.queries import CODE, ID_NUMBER, NAME, Query
    from reporting.models import User

    office, _ = User.objects.get_or_create(username="bench_office", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(office)

    codes = sample("credit_code", 200, rng)
    ids = sample("id_number", 200, rng)
    names = sample("subject_name", 400, rng)
    companies = [n for n in names if n.endswith(("公司", "商店", "经营部"))][:100]
    people = [n for n in names if len(n) <= 3][:50]

    def search(mode):
        return lambda value: services.lookup_search(user=office, query=Query(mode, value))

    report("lookup by code (search + audit row)", timed_each(search(CODE), codes), 20)
    report("lookup by code, subject profile (all records + marks)",
           timed_each(lambda c: selectors.subject_profile(selectors.Subject(CODE, c), as_of=_today()), codes), 20)
    report("lookup by ID number (search + audit row)", timed_each(search(ID_NUMBER), ids), 20)
    report("lookup by code, whole page (POST /lookup/, server time)",
           timed_each(lambda c: client.post("/lookup/", {"q": c}), codes[:100]), 20)
    anchors = [selectors.subjects_search(Query(CODE, c)).subjects[0].anchor for c in codes[:100]]
    report("subject profile page (GET /lookup/subjects/…/, server time)",
           timed_each(lambda a: client.get(f"/lookup/subjects/{a}/"), anchors), 100)

    fragments = [n[len(_region(n)):len(_region(n)) + 4] for n in companies]  # trade name + first industry chars
    trade_names = [n[len(_region(n)):len(_region(n)) + 3] for n in companies]  # trade name + 1 character
    misspelt = [n.replace("市", "", 1).replace("有限公司", "公司") for n in companies]
    cases = [
        ("full company name", companies), ("4-character fragment", fragments), ("3-character fragment", trade_names),
        ("person's name", people), ("very common fragment 贸易有限公司", ["贸易有限公司"] * 20),
        ("misspelt name (similar names)", misspelt),
    ]
    for label, values in cases:
        report(f"lookup by name, {label} (POST /lookup/, server time)",
               timed_each(lambda v: client.post("/lookup/", {"q": v, "mode": NAME}), values[:60]), 100)
    hits = [len(selectors.subjects_search(Query(NAME, v)).subjects) for v in trade_names[:20]]
    print(f"  (3-character fragments find {statistics.median(hits):.0f} subjects at the median)")


def _region(name):
    return next((r for r in REGIONS if name.startswith(r)), "")


def _today():
    from django.utils import timezone

    return timezone.localdate()


# --- batch checks -----------------------------------------------------------------------


def batch_list(path, rows, rng):
    """A list like a tender's applicants: mostly known codes, some ID numbers, unknown and invalid codes, names."""
    from openpyxl import Workbook

    from reporting.validators import uscc_check_char

    codes = sample("credit_code", rows, rng)
    ids = sample("id_number", rows // 10 + 1, rng)
    names = sample("subject_name", rows // 20 + 1, rng)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("名单")
    sheet.append(["序号", "名称", "统一社会信用代码", "证件号码"])
    for n in range(rows):
        roll = n % 20
        if roll < 14:
            sheet.append([n + 1, "投标单位", codes[n % len(codes)], ""])
        elif roll < 16:
            sheet.append([n + 1, "自然人", "", ids[n % len(ids)]])
        elif roll < 18:
            body = f"91210800MA{n:07d}"
            sheet.append([n + 1, "新设企业", body + uscc_check_char(body), ""])  # valid, in no record
        elif roll < 19:
            sheet.append([n + 1, "抄错代码", "91210800MA0000000", ""])
        else:
            sheet.append([n + 1, names[n % len(names)], "", ""])
    book.save(path)


def batch_child(rows):
    """Run in a child process: one batch check of `rows` rows; prints a JSON line."""
    setup_django()
    from lookup import services

    rng = random.Random(SEED + rows)
    source, out = Path(f"/tmp/bench_lookup_list_{rows}.xlsx"), Path(f"/tmp/bench_lookup_result_{rows}.xlsx")
    batch_list(source, rows, rng)
    before = _rss_mb()
    with _RssSampler() as sampler:
        start = time.perf_counter()
        summary = services.batch_check_file(path=source, name=source.name, out=out, as_of=_today())
        elapsed = time.perf_counter() - start
    print(json.dumps({"rows": summary.rows, "with_hits": summary.with_hits, "invalid": summary.invalid,
                      "seconds": elapsed, "rss_before_mb": before, "rss_peak_mb": sampler.peak,
                      "process_peak_mb": peak_rss_mb()}))


def _rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


class _RssSampler:
    """The highest resident set size seen every 20 ms while the block runs."""

    def __enter__(self):
        import threading

        self.peak, self.stop = _rss_mb(), threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, _rss_mb())
        return False


def batches():
    for rows in (1000, 10000):
        result = subprocess.run([sys.executable, __file__, "--batch", str(rows)], capture_output=True, text=True,
                                env=os.environ)
        if result.returncode:
            print(f"batch check {rows} rows failed:\n{result.stderr[-3000:]}")
            continue
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"batch check {figures['rows']:,} rows (read, check, write the result): {figures['seconds']:.2f} s "
              f"(target <= 10 s at 10,000); {figures['with_hits']:,} with hits, {figures['invalid']:,} invalid; "
              f"RSS {figures['rss_before_mb']:.0f} MB before, {figures['rss_peak_mb']:.0f} MB at most during the check "
              f"(+{figures['rss_peak_mb'] - figures['rss_before_mb']:.0f} MB)", flush=True)


def main():
    if sys.argv[1:2] == ["--batch"]:
        batch_child(int(sys.argv[2]))
        return
    setup_django()
    print(f"本机速度参考 / machine reference: 3,000,000 Python loop steps in {machine_reference():.3f} s", flush=True)
    from reporting.models import Record

    print("seeding…" if seed() else "using seeded data", flush=True)
    from lookup.selectors import searchable_records

    print(f"dataset: {Record.objects.count():,} records, {searchable_records().count():,} searchable "
          f"(accepted months, subject categories)", flush=True)
    lookups(random.Random(SEED))
    batches()


if __name__ == "__main__":
    main()
