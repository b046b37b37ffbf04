from reporting import services
from reporting.management.cli import ReportCommand


class Command(ReportCommand):
    help = "审核月度报表：--accept 通过，--return 原因 退回单位修改，--reopen 原因 重新打开已通过的月份（以信用办身份）"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--accept", action="store_true", help="审核通过，该月锁定")
        action.add_argument("--return", dest="return_reason", metavar="REASON", help="退回并说明原因")
        action.add_argument("--reopen", dest="reopen_reason", metavar="REASON", help="重新打开已通过的月份并说明原因")

    def handle_month(self, unit, period, options):
        report = self.report(unit, period)
        if options["accept"]:
            report = services.report_accept(report=report, user=None)
            self.stdout.write(f"已审核通过：{report}，该月已锁定。")
        elif options["return_reason"] is not None:
            report = services.report_return(report=report, user=None, reason=options["return_reason"])
            self.stdout.write(f"已退回：{report}，原因：{report.return_reason}")
        else:
            report = services.report_reopen(report=report, user=None, reason=options["reopen_reason"])
            self.stdout.write(f"已重新打开：{report}（退回单位修改），原因：{report.return_reason}")
