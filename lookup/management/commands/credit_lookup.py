import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lookup import selectors, services
from lookup.models import LookupAudit
from lookup.queries import CODE, ID_NUMBER, NAME, QueryError, query_parse

CLI_LIMIT = 500


class Command(BaseCommand):
    help = (
        "信用查询：按统一社会信用代码、证件号码或名称（包含该文字）查询已审核通过月份的记录，按主体分组列出，"
        "并标出当前列入黑名单、公示期内的行政处罚、列入红名单。每次查询记入查询日志（途径：命令行）。"
        '--json 最后一行：{"query": {...}, "subjects": [{"name": "…", "credit_code": "…", "records": '
        '[{"category": "admin_license", "unit": "D02", "period": "2019-08", "doc_number": "…", "date": "2019-08-05"}, …]}]}。'
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--code", help="统一社会信用代码（18位，按 GB 32100 校验）")
        which.add_argument("--id-number", help="证件号码（居民身份证按 GB 11643 校验）")
        which.add_argument("--name", help="名称或名称的一部分")
        parser.add_argument("--similar", action="store_true", help="按名称查询时，另列名称相近的主体（模糊匹配）")
        parser.add_argument("--as-of", help="信息截止日期 YYYY-MM-DD（默认今天），用于判断黑名单和公示期")
        parser.add_argument("--details", action="store_true",
                            help="JSON 中每个主体另加证件号码（id_number）和标记（marks）；默认只有约定的三个键")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON")

    def handle(self, *args, code=None, id_number=None, name=None, similar=False, as_of=None, details=False,
               json=False, **options):
        mode, text = (CODE, code) if code is not None else (ID_NUMBER, id_number) if id_number is not None else (
            NAME, name)
        try:
            query = query_parse(text, mode)
        except QueryError as exc:
            raise CommandError(str(exc)) from exc
        day = _as_of(as_of)
        result = services.lookup_search(user=None, query=query, channel=LookupAudit.Channel.CLI, limit=CLI_LIMIT,
                                         similar=similar and mode == NAME)
        subjects = [_subject_json(s, day) for s in result.subjects]
        self._describe(query, subjects, result)
        data = {"query": query.as_json(), "subjects": [_contract(s, details) for s in subjects]}
        if similar and mode == NAME:
            data["similar_subjects"] = [_contract(_subject_json(s, day), details) for s in result.similar]
        if json:
            self.stdout.write(_dumps(data))

    def _describe(self, query, subjects, result):
        self.stdout.write(f"按{query.label}查询“{query.value}”：找到 {len(subjects)} 个主体。")
        if result.truncated:
            self.stdout.write(f"（匹配的记录很多，只列出前 {len(subjects)} 个主体，请输入更完整的名称。）")
        for subject in subjects:
            identifier = subject["credit_code"] or subject["id_number"] or "无代码"
            self.stdout.write(f"- {subject['name']}（{identifier}）：{subject['marks']['verdict']}，"
                              f"{len(subject['records'])} 条记录")
            for r in subject["records"]:
                self.stdout.write(f"    {r['date'] or '—'} {r['category']} {r['unit']} {r['period']} {r['doc_number']}")


def _as_of(text):
    if not text:
        return timezone.localdate()
    try:
        day = datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"日期“{text}”格式不对，应为 YYYY-MM-DD。") from None
    if day > timezone.localdate():
        raise CommandError("信息截止日期不能晚于今天。")
    return day


def _subject_json(summary, as_of):
    profile = selectors.subject_profile(summary.subject, as_of=as_of)
    items = profile.records if profile else []
    return {
        "name": profile.name if profile else summary.name,
        "credit_code": summary.subject.credit_code,
        "id_number": summary.subject.id_number,
        "marks": profile.marks.as_json() if profile else {},
        "records": [
            {
                "category": item.record.category.code,
                "unit": item.record.unit.code,
                "period": item.record.report.period_code,
                "doc_number": item.doc_number,
                "date": item.record.record_date.isoformat() if item.record.record_date else None,
            }
            for item in items
        ],
    }


def _contract(subject, details):
    """The subject as the --json contract has it: name, credit_code, records (and with --details more)."""
    if details:
        return subject
    return {key: subject[key] for key in ("name", "credit_code", "records")}


def _dumps(data):
    return json.dumps(data, ensure_ascii=False)
