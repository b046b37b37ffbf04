import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lookup import services
from lookup.management.commands.credit_lookup import _as_of
from lookup.models import LookupAudit
from reporting.excel import UploadRefused


class Command(BaseCommand):
    help = (
        "批量核查：逐行核查名单文件（.xlsx 或 .csv，列：名称、统一社会信用代码或证件号码，最多 10000 行），"
        "写出核查结果工作簿（每行各类别命中数和核查结论：无不良记录 / 有行政处罚记录 / 列入黑名单 / 未查到相关记录 / 代码无效）。"
        '记入查询日志。--json 最后一行：{"rows": N, "with_hits": M, "invalid": K}。'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="名单文件（.xlsx 或 .csv）")
        parser.add_argument("-o", "--output", required=True, help="核查结果文件（.xlsx）")
        parser.add_argument("--as-of", help="核查基准日 YYYY-MM-DD（默认今天）")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON")

    def handle(self, *args, file, output, as_of=None, json=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        try:
            summary = services.batch_check_file(path=path, name=path.name, out=output, as_of=_as_of(as_of),
                                                channel=LookupAudit.Channel.CLI)
        except UploadRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已核查 {summary.rows} 行：{summary.with_hits} 行查到记录（其中 {summary.bad} 行有不良记录），"
                          f"{summary.invalid} 行代码无效。结果已写入 {output}")
        if json:
            self.stdout.write(_dumps(summary.as_json()))


def _dumps(data):
    return json.dumps(data, ensure_ascii=False)
