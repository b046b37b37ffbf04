import json

from django.core.management.base import BaseCommand, CommandError

from notices.rates import percent, reporting_rate
from reporting.management.cli import pad


class Command(BaseCommand):
    help = (
        "各单位某年 1 月至 N 月的报送情况：应报月数（截止日已过，或已提前提交的月份）、已提交（含已通过）、"
        "已通过、按时报送的月数，以及全部单位的报送完整率（已通过 / 应报）和按时报送率（按时 / 应报）。"
        '--json 最后一行：{"year": 2019, "through": 9, "units": [{"unit", "due", "submitted", "accepted", '
        '"on_time"}, …], "completeness": 0.123, "on_time_rate": 0.098}（比率保留三位小数，无应报月份时为 null）。'
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年份，如 2019")
        parser.add_argument("--through", type=int, required=True, help="截止月（1—12）")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON")

    def handle(self, *args, year, through, json=False, **options):
        if not 2000 <= year <= 2100:
            raise CommandError(f"年份“{year}”不合理。")
        if not 1 <= through <= 12:
            raise CommandError(f"截止月应在 1—12 之间（现为 {through}）。")
        matrix = reporting_rate(year=year, through=through)
        self.stdout.write(f"{year}年1—{through}月报送情况（{len(matrix.rows)} 个单位，截至 {matrix.today:%Y-%m-%d}）")
        self.stdout.write(pad("编码", 6) + pad("单位", 24) + "应报  已提交  已通过  按时  待审核")
        for row in matrix.rows:
            c = row.counts
            self.stdout.write(pad(row.unit.code, 6) + pad(row.unit.short_name, 24)
                              + f"{c.due:>4}  {c.submitted:>6}  {c.accepted:>6}  {c.on_time:>4}  {c.pending:>6}")
        total = matrix.total
        self.stdout.write(f"合计：应报 {total.due}，已提交 {total.submitted}，已通过 {total.accepted}，"
                          f"按时 {total.on_time}，待审核 {total.pending}（未计入完整率）")
        self.stdout.write(f"报送完整率 {percent(total.completeness)}，按时报送率 {percent(total.on_time_rate)}")
        if json:
            self.stdout.write(_dumps(matrix.as_json()))


def _dumps(data):
    return json.dumps(data, ensure_ascii=False)
