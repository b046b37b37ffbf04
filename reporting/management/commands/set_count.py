from django.core.management.base import CommandError

from reporting import services
from reporting.management.cli import ReportCommand, category_for


class Command(ReportCommand):
    help = "填报数量类别的本月数量，如：set_count --unit C01 --period 2019-08 --category credit_commitment 12"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--category", required=True, help="数量类别的编码，如 gov_dishonesty_unresolved")
        parser.add_argument("count", help="不小于 0 的整数")

    def handle_month(self, unit, period, options):
        count = options["count"].strip()
        if not count.isdigit():
            raise CommandError(f"数量应为不小于 0 的整数，收到“{options['count']}”。")
        category = category_for(unit, options["category"])
        report = self.report(unit, period)
        entry = services.count_set(report=report, category=category, count=int(count), user=None)
        self.stdout.write(f"已填报：{report}“{category.name}”数量为 {entry.count}。")
