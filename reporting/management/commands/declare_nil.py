from reporting import services
from reporting.management.cli import ReportCommand, category_for


class Command(ReportCommand):
    help = "声明某类别本月无数据（本月无数据与“未填报”不同，会计入已报送）"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--category", required=True, help="类别编码，如 admin_penalty")

    def handle_month(self, unit, period, options):
        category = category_for(unit, options["category"])
        report = self.report(unit, period)
        services.nil_declare(report=report, category=category, user=None)
        self.stdout.write(f"已声明本月无数据：{report}“{category.name}”。")
