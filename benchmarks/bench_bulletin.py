"""Benchmark: a bulletin issue for 63 units on the year-2025 dataset of bench_stats (1,000,000 records).

Targets (issue 4): generating an issue with both tables and the narrative, then
writing it as DOCX <= 3 s, as PDF <= 10 s.  Each figure is the whole path a
click or the CLI takes: regenerate the 情况通报 (statistics, rankings, narrative,
snapshot) and render the file.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import machine_reference, setup_django  # noqa: E402

YEAR = 2025
NUMBER = 990  # a number no real issue uses; the issue is deleted afterwards
REPEAT = 3
ARTICLE = (
    "日前，国家发改委办公厅发布《推送并应用市场主体公共信用综合评价结果的通知》。《通知》从六个方面就各地方充分应用"
    "公共信用综合评价结果，推动落实以信用为基础的新型监管机制有关事项提出了具体要求，并明确了相关部门的监督管理职责。"
)


def timed(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main():
    setup_django()
    print(f"本机速度参考 / machine reference: 3,000,000 Python loop steps in {machine_reference():.3f} s", flush=True)
    from benchmarks.bench_stats import seed
    from bulletins import services
    from bulletins.models import Bulletin, Section
    from bulletins.pdf import bulletin_pdf
    from bulletins.render_docx import bulletin_docx
    from rankings.models import CategoryStat
    from rankings.services import stats_rebuild
    from reporting.models import Record, Unit

    print("seeding…" if seed() else "using seeded data", flush=True)
    if not CategoryStat.objects.filter(period__year=YEAR).exists():
        stats_rebuild()
    total = Record.objects.filter(report__period__year=YEAR).count()
    print(f"dataset: {total:,} records, {Unit.objects.count()} units x 12 months of {YEAR}")

    Bulletin.objects.filter(year=YEAR, number=NUMBER).delete()
    bulletin = services.bulletin_create(year=YEAR, number=NUMBER, user=None)
    try:
        for section in (Section.DOCUMENTS, Section.PROGRESS, Section.REWARDS, Section.COUNTIES):
            services.article_create(bulletin=bulletin, section=section, title="基准测试文章",
                                    body="\n\n".join([ARTICLE] * 6), source="市信用办", user=None)
        for _ in range(6):
            services.article_create(bulletin=bulletin, section=Section.BRIEFS, body=ARTICLE, source="市民政局",
                                    user=None)

        def generate():
            return services.bulletin_generate(bulletin=bulletin, year=YEAR, first=1, last=12, user=None)

        best, median = timed(generate)
        print(f"generate 情况通报 (2 tables + narrative, 63 units, 1-12): best {best * 1000:.0f} ms, "
              f"median {median * 1000:.0f} ms")
        fresh = generate()

        sizes = {}
        for fmt, render, target in (("DOCX", bulletin_docx, 3), ("PDF", bulletin_pdf, 10)):
            best, median = timed(lambda r=render: r(fresh))
            print(f"render {fmt}: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms")

            def whole(r=render, f=fmt):
                sizes[f] = len(r(generate()))

            best, median = timed(whole)
            verdict = "ok" if median <= target else "OVER TARGET"
            print(f"generate + {fmt}: best {best:.2f} s, median {median:.2f} s (target <= {target} s, {verdict}); "
                  f"{sizes[fmt] / 1024:.0f} KB")
    finally:
        Bulletin.objects.filter(pk=bulletin.pk).delete()


if __name__ == "__main__":
    main()
