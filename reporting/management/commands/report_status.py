import json

from reporting import services
from reporting.management.cli import ReportCommand, existing_report, pad
from reporting.models import MonthlyReport, ReportStatus

EMPTY = {"records": 0, "count": None, "nil": False}


def report_status_data(unit, period, report=None):
    """The month's state as `--json` prints it (the API's GET answers the same).  Read-only: a month
    without a report shows as draft and nothing is created."""
    report = report or existing_report(unit, period)
    summary = services.report_summary(report) if report else {}
    return {
        "status": report.status if report else ReportStatus.DRAFT.value,
        "url": (report or MonthlyReport(unit=unit, period=period)).get_absolute_url(),
        "on_time": report.on_time if report else None,
        "categories": {c.code: summary.get(c.code, EMPTY) for c in unit.categories()},
    }


class Command(ReportCommand):
    help = (
        "查看单位某月报表的状态。--json 输出一行："
        '{"status": "draft|submitted|accepted|returned", "url": "…", "on_time": true|false|null, '
        '"categories": {"<编码>": {"records": N, "count": N|null, "nil": bool}, …}}，列出该单位类型的全部类别。'
        "只读：报表不存在时按“填报中”显示，不会创建。"
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--json", action="store_true", help="输出 JSON")

    def handle_month(self, unit, period, options):
        report = existing_report(unit, period)
        status = self.status(unit, period, report)
        if options["json"]:
            self.stdout.write(json.dumps(status, ensure_ascii=False))
        else:
            self.print_table(unit, period, report, status)

    def status(self, unit, period, report):
        return report_status_data(unit, period, report)

    def print_table(self, unit, period, report, status):
        label = ReportStatus(status["status"]).label
        on_time = {True: "按时", False: "逾期", None: "—"}[status["on_time"]]
        self.stdout.write(f"{unit.code} {unit} {period.year}年{period.month}月　状态：{label}　按时报送：{on_time}")
        self.stdout.write(f"地址：{status['url']}")
        if report and report.return_reason:
            self.stdout.write(f"退回原因：{report.return_reason}")
        names = {c.code: c.name for c in unit.categories()}
        width = max(len(code) for code in names) + 2
        self.stdout.write(pad("编码", width) + pad("类别", 46) + "填报情况")
        for code, state in status["categories"].items():
            self.stdout.write(pad(code, width) + pad(names[code], 46) + self.describe(state))

    @staticmethod
    def describe(state):
        if state["nil"]:
            return "本月无数据"
        if state["count"] is not None:
            return f"数量 {state['count']}"
        if state["records"]:
            return f"{state['records']} 条记录"
        return "未填报"
