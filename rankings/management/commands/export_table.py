from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from rankings import exports, selectors
from rankings.models import StatTable


class Command(BaseCommand):
    help = (
        "导出统计表。JSON 不带 -o 时输出到标准输出："
        '{"table", "title", "columns": [列名…], "rows": [{"unit", "name", "group", "values": {列名: N}, "total"}], '
        '"totals": {列名: N}}。xlsx 必须用 -o 指定文件；csv 不带 -o 时输出到标准输出（UTF-8 带 BOM）。'
    )

    def add_arguments(self, parser):
        parser.add_argument("table_code", help="统计表编码，如 county_park、department")
        parser.add_argument("--year", type=int, required=True, help="年份，如 2019")
        parser.add_argument("--from", dest="first", type=int, default=1, help="起始月（1—12，默认 1）")
        parser.add_argument("--through", type=int, required=True, help="截止月（1—12）")
        parser.add_argument("--format", choices=sorted(exports.FORMATS), required=True, help="json、xlsx 或 csv")
        parser.add_argument("-o", "--output", help="输出文件路径")

    def handle(self, *args, table_code, year, first, through, format, output=None, **options):
        table = StatTable.objects.filter(code=table_code).first()
        if table is None:
            known = "、".join(StatTable.objects.values_list("code", flat=True)) or "（无）"
            raise CommandError(f"没有编码为“{table_code}”的统计表。可用：{known}。")
        if not (1 <= first <= 12 and 1 <= through <= 12):
            raise CommandError(f"月份应在 1—12 之间（起始月 {first}，截止月 {through}）。")
        if first > through:
            raise CommandError(f"起始月（{first}）不能晚于截止月（{through}）。")
        if not 2000 <= year <= 2100:
            raise CommandError(f"年份“{year}”不合理。")
        if format == "xlsx" and not output:
            raise CommandError("xlsx 是二进制文件，请用 -o 指定输出文件，如 -o 统计表.xlsx。")

        computed = selectors.table_compute(table, year=year, first=first, last=through)
        if format == "json":
            content = exports.table_json(computed).encode()
        elif format == "csv":
            content = exports.table_csv(computed)
        else:
            content = exports.table_xlsx(computed)

        if output:
            try:
                Path(output).write_bytes(content)
            except OSError as exc:
                raise CommandError(f"无法写入文件“{output}”：{exc.strerror or exc}") from exc
            self.stdout.write(f"已导出《{computed.title}》（{len(computed.rows)} 行）到 {output}")
        else:
            self.stdout.write(content.decode())

