"""build_bulletin --year YYYY --number N --through M --format docx|pdf|html -o FILE

Creates the issue if it does not exist (dated today, default office), regenerates
its 情况通报 for January–M of the year while it is a draft, and writes the file.
A published issue is frozen: it is written as published, from its snapshot.
Acts as the operator (office rights).  Refusals exit non-zero with a Chinese message.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bulletins import services
from bulletins.models import Bulletin
from bulletins.pdf import bulletin_pdf, print_html
from bulletins.render_docx import bulletin_docx

FORMATS = {
    "docx": bulletin_docx,
    "pdf": bulletin_pdf,
    "html": lambda bulletin: print_html(bulletin, inline_css=True).encode("utf-8"),
}


def _int(options, name, label, low, high):
    text = options.get(name)
    if text in (None, ""):
        raise CommandError(f"缺少参数 --{name}（{label}）。")
    try:
        value = int(str(text).strip())
    except ValueError:
        raise CommandError(f"--{name}（{label}）应为整数，收到“{text}”。") from None
    if not low <= value <= high:
        raise CommandError(f"--{name}（{label}）应在 {low}—{high} 之间，收到 {value}。")
    return value


class Command(BaseCommand):
    help = "生成一期工作简报（不存在则创建，草稿则按 1—M 月重新生成情况通报）并写出 DOCX、PDF 或 HTML 文件。"

    def add_arguments(self, parser):
        # Checked in handle(), so that every complaint is in Chinese.
        parser.add_argument("--year", help="简报年份，如 2019")
        parser.add_argument("--number", help="期号，如 5")
        parser.add_argument("--through", help="情况通报统计截止月（1—12），统计 1 月至该月")
        parser.add_argument("--format", dest="fmt", help="输出格式：docx、pdf 或 html")
        parser.add_argument("-o", "--output", help="输出文件路径")

    def handle(self, *args, **options):
        year = _int(options, "year", "年份", 2000, 2100)
        number = _int(options, "number", "期号", 1, 999)
        through = _int(options, "through", "截止月", 1, 12)
        fmt = (options.get("fmt") or "").strip().lower()
        if fmt not in FORMATS:
            raise CommandError(f"--format 应为 docx、pdf 或 html，收到“{options.get('fmt') or ''}”。")
        output = options.get("output")
        if not output:
            raise CommandError("缺少参数 -o（输出文件路径）。")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"输出目录不存在：{path.parent}")

        try:
            bulletin = Bulletin.objects.filter(year=year, number=number).first()
            if bulletin is None:
                bulletin = services.bulletin_create(year=year, number=number, user=None)
                self.stdout.write(f"已创建{bulletin.label}。")
            if bulletin.is_published:
                self.stdout.write(f"{bulletin.label}已发布，按发布时的内容输出，不重新生成情况通报。")
            else:
                bulletin = services.bulletin_generate(bulletin=bulletin, year=year, first=1, last=through, user=None)
                self.stdout.write(f"已按{bulletin.stats_label}的统计数据生成情况通报。")
        except services.ServiceError as exc:
            raise CommandError(str(exc)) from exc
        path.write_bytes(FORMATS[fmt](bulletin))
        self.stdout.write(f"已写出 {path}（{path.stat().st_size} 字节）。")
