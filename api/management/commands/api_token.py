import json

from django.core.management.base import BaseCommand, CommandError

from api.tokens import token_issue, token_revoke
from reporting.management.cli import unit_by_code
from reporting.services import ServiceError


class Command(BaseCommand):
    help = (
        "签发或吊销单位的数据报送接口令牌。签发时打印新令牌（只显示这一次），该单位原有的有效令牌同时吊销（轮换）；"
        "--revoke 只吊销、不签发。加 --json 时最后一行为 {\"unit\": \"D02\", \"token\": \"…\", \"prefix\": \"…\", "
        "\"revoked\": N}（N 为被吊销的旧令牌数），--revoke 时为 {\"unit\": \"D02\", \"revoked\": N}。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="单位编码，如 D02（不区分大小写）")
        parser.add_argument("--revoke", action="store_true", help="吊销该单位的有效令牌，不签发新令牌")
        parser.add_argument("--note", default="", help="说明（如对接的系统名称）")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON")

    def handle(self, *args, **options):
        unit = unit_by_code(options["unit"])
        if options["revoke"]:
            revoked = token_revoke(unit=unit)
            self.say(options, f"已吊销{unit}（{unit.code}）的 {revoked} 个接口令牌。" if revoked
                     else f"{unit}（{unit.code}）没有有效的接口令牌，无需吊销。")
            self.emit(options, {"unit": unit.code, "revoked": revoked})
            return
        try:
            row, token = token_issue(unit=unit, note=options["note"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        replaced = f"，原有的 {row.replaced} 个令牌已吊销" if row.replaced else ""
        self.say(options, f"已为{unit}（{unit.code}）签发接口令牌{replaced}。令牌只显示这一次，请妥善保存：")
        if not options["json"]:
            self.stdout.write(token)
        self.emit(options, {"unit": unit.code, "token": token, "prefix": row.prefix, "revoked": row.replaced})

    def say(self, options, line):
        # With --json, stdout carries only the JSON line; the words go to stderr.
        (self.stderr if options["json"] else self.stdout).write(line)

    def emit(self, options, data):
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
