import json
import re

from django.core.management.base import BaseCommand, CommandError

from exports import national, services
from reporting.management.cli import parse_period

USAGE = "用法：export_disclosure --category admin_license --from 2019-01 --through 2019-12 --format csv|xlsx -o 文件"


class Command(BaseCommand):
    help = (
        "归集导出：把已审核通过月份的行政许可或行政处罚按国家“双公示”数据标准 2.0 的格式导出（全部单位），"
        "表头为字段代码（XK_…/CF_…，--headers zh 为中文字段名），取值为标准代码（如当前状态 1/2、证件类型 001…）。"
        "--since-last 只导出上次导出以来新增或改动的记录。同样的数据再次导出得到完全相同的文件。"
        "每次导出记入导出记录（条数、文件 SHA-256）。"
        "加 --json 时，标准输出的最后一行为 {\"rows\": N, \"file\": \"…\"}。"
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message):  # argparse's own messages are English
            text = _chinese(message)
            if parser.called_from_command_line:
                parser.exit(2, f"错误：{text}\n")
            raise CommandError(text)

        parser.error = error
        return parser

    def add_arguments(self, parser):
        # Checked in handle, not by argparse, so that every refusal is in Chinese.
        parser.add_argument("--category", help="admin_license（行政许可）或 admin_penalty（行政处罚）")
        parser.add_argument("--from", dest="period_from", help="起始月份，YYYY-MM")
        parser.add_argument("--through", dest="period_through", help="截止月份，YYYY-MM（含）")
        parser.add_argument("--format", dest="fmt", help="csv 或 xlsx")
        parser.add_argument("--headers", default="code", help="code（字段代码，默认）或 zh（中文字段名）")
        parser.add_argument("--since-last", action="store_true", help="只导出上次导出以来新增或改动的记录")
        parser.add_argument("-o", "--output", dest="output", help="输出文件")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON 结果")

    def handle(self, *args, **options):
        missing = [flag for flag, key in (("--category", "category"), ("--from", "period_from"),
                                          ("--through", "period_through"), ("--format", "fmt"), ("-o", "output"))
                   if not options.get(key)]
        if missing:
            raise CommandError(f"缺少参数：{'、'.join(missing)}。{USAGE}")
        if options["category"] not in national.LAYOUTS:
            raise CommandError(f"不支持的类别“{options['category']}”，应为 admin_license（行政许可）或 admin_penalty（行政处罚）。")
        period_from = parse_period(options["period_from"])
        period_through = parse_period(options["period_through"])
        try:
            result = services.export_disclosure(
                category=options["category"], period_from=period_from, period_through=period_through,
                fmt=options["fmt"].lower(), headers=options["headers"].lower(), since_last=options["since_last"],
                path=options["output"],
            )
        except services.ExportError as exc:
            raise CommandError(str(exc)) from exc
        run = result.run
        layout = national.LAYOUTS[options["category"]]
        scope = "上次导出以来有变化的" if run.since_last else ""
        self.stdout.write(
            f"已导出 {period_from:%Y-%m}—{period_through:%Y-%m} {scope}{layout.name} {result.rows} 条到 {result.path}"
            f"（SHA-256 {run.sha256}，导出记录 #{run.pk}）。"
        )
        if run.withdrawn:
            self.stdout.write(f"另有 {run.withdrawn} 条此前导出过的记录已被更正删除（不在文件中，已记入导出记录）：")
            for item in result.withdrawn:
                self.stdout.write(f"  {item['period']} {item['unit']} {item['doc_number']}")
            if run.withdrawn > len(result.withdrawn):
                self.stdout.write(f"  ……仅列出前 {len(result.withdrawn)} 条")
        if options["json"]:
            details = {"run": run.pk, "sha256": run.sha256, "since_last": run.since_last,
                       "withdrawn": run.withdrawn, "withdrawn_records": result.withdrawn}
            self.stdout.write(json.dumps(details, ensure_ascii=False))
            self.stdout.write(json.dumps({"rows": result.rows, "file": options["output"]}, ensure_ascii=False))


_ARGPARSE_MESSAGES = (
    (re.compile(r"unrecognized arguments: (.*)"), "无法识别的参数：{}"),
    (re.compile(r"argument (\S+): expected one argument"), "参数 {} 后面需要一个值"),
    (re.compile(r"argument (\S+): ignored explicit argument '(.*)'"), "参数 {} 不接受值（{}）"),
)


def _chinese(message):
    for pattern, text in _ARGPARSE_MESSAGES:
        if match := pattern.fullmatch(message):
            return text.format(*match.groups()) + "。" + USAGE
    return f"参数错误：{message}"
