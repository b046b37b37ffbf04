import json

from django.core.management.base import BaseCommand, CommandError

from notices import services
from notices.models import ReminderSource
from reporting.management.cli import parse_period
from reporting.services import ServiceError


class Command(BaseCommand):
    help = (
        "催报：向该月报表应报而未提交（未填报、填报中或已退回）的每个单位发送站内消息和邮件。"
        "截止日之前（含当天）为“报送提醒”，之后为“逾期催报”；同一单位同一月份的同类消息每天最多发送一次，"
        '当天再次运行不会重复发送。--json 最后一行：{"period": "YYYY-MM", "units": [单位编码…（按编码排序）], "sent": N}。'
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="月份，格式 YYYY-MM，如 2019-09")
        parser.add_argument("--dry-run", action="store_true", help="只列出将要催报的单位，不发送")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON")

    def handle(self, *args, period, dry_run=False, json=False, **options):
        month = parse_period(period)
        try:
            result = services.reminders_send(period=month, source=ReminderSource.CLI, dry_run=dry_run)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        self.describe(result)
        if json:
            self.stdout.write(_dumps(result.as_json()))

    def describe(self, result):
        label = services.period_label(result.period)
        head = f"{label}（截止日 {result.due_date:%Y-%m-%d}）{result.kind_label}"
        names = "、".join(f"{u.code} {u.short_name}" for u in result.sent)
        if result.dry_run:
            self.stdout.write(f"{head}：将发送给 {len(result.sent)} 个单位（试运行，未发送）" + (f"：{names}" if names else "。"))
        elif result.sent:
            self.stdout.write(f"{head}：已发送给 {len(result.sent)} 个单位：{names}")
        else:
            self.stdout.write(f"{head}：没有需要发送的单位。")
        if result.skipped:
            self.stdout.write(f"今天已发送过、未重复发送的单位 {len(result.skipped)} 个："
                              + "、".join(u.code for u in result.skipped))


def _dumps(data):
    return json.dumps(data, ensure_ascii=False)
