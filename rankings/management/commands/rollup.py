from django.core.management.base import BaseCommand, CommandError

from rankings import services
from rankings.models import CategoryStat, ReportStat
from reporting.management.cli import parse_period, unit_by_code


class Command(BaseCommand):
    help = (
        "重新汇总统计数据（同步执行，不经过 Celery）。"
        "--full：从全部记录重建所有统计；--unit CODE --period YYYY-MM：重新汇总一个单位的一个月；"
        "不带参数：立即处理所有待汇总标记（即定时任务会补做的那些）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="从全部记录重建所有统计")
        parser.add_argument("--unit", help="单位编码，如 D01（须与 --period 一起使用）")
        parser.add_argument("--period", help="月份，格式 YYYY-MM，如 2019-08（须与 --unit 一起使用）")

    def handle(self, *args, full=False, unit=None, period=None, **options):
        if bool(unit) != bool(period):
            raise CommandError("--unit 和 --period 必须同时指定。")
        if full and unit:
            raise CommandError("--full 不能与 --unit/--period 同时使用。")
        if full:
            rows = services.stats_rebuild()
            self.stdout.write(
                f"已全量重建统计：{rows} 条类别统计，{ReportStat.objects.count()} 条报表统计。"
            )
        elif unit:
            target, month = unit_by_code(unit), parse_period(period)
            services.mark_run(unit_id=target.pk, period=month)
            rows = CategoryStat.objects.filter(unit=target, period=month).count()
            self.stdout.write(f"已重新汇总 {target.code} {target} {month.year}年{month.month}月：{rows} 条类别统计。")
        else:
            done = services.marks_run_pending()
            self.stdout.write(f"已处理 {done} 个待汇总标记。" if done else "没有待汇总的标记。")
