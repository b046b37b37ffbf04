from reporting import services
from reporting.management.cli import ReportCommand


class Command(ReportCommand):
    help = (
        "提交单位的月度报表。尚未填报的类别在提交时记为“本月无数据”（网页上由用户确认，"
        "命令行视为操作员已确认），并逐一列出。"
    )

    def handle_month(self, unit, period, options):
        report = self.report(unit, period)
        untouched = [e.category.name for e in report.entries.select_related("category") if not e.is_filled]
        report = services.report_submit(report=report, user=None, confirm_nil=True)
        due = f"截止日 {report.due_date:%Y-%m-%d}"
        timing = {True: f"按时报送（{due}）", False: f"逾期报送（{due}）"}.get(report.on_time, due)
        self.stdout.write(f"已提交：{report}，{timing}。")
        if untouched:
            self.stdout.write(f"以下 {len(untouched)} 个类别未填报，已记为“本月无数据”：{'、'.join(untouched)}")
