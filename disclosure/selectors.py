"""Reads of the public disclosure: what a visitor asked for, the entries it finds, one page of them.

Every list is newest decision first (index disclosure_list); penalties only while in their 公示 period
(publicity_end, rules.py).  Searches: 名称 contains (names as shown: persons are never matched, see
rules.name_searchable), 统一社会信用代码 exact, 文书号 exact or by its beginning.  There is no search by ID
number on the public pages: a person's number is shown masked and may not be looked up whole.
"""

import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from lookup.queries import RESIDENT_LIKE, QueryError, code_check, name_clean
from reporting.models import Record, ReportStatus
from reporting.validators import FieldError, cell_text, check_resident_id, check_uscc, normalise_code

from . import rules
from .models import Kind, PublicEntry

PAGE_SIZE = 20
MAX_PAGES = 50  # deeper pages are not served: a search narrows the list instead
MAX_QUERY_LENGTH = 100
MIN_NAME_LENGTH = 2  # one character (a surname) would list half the city
MAX_ID = 2**63 - 1

NAME, CODE, DOC = "name", "code", "doc"
MODES = {NAME: "名称", CODE: "统一社会信用代码", DOC: "文书号"}

# Fields of a record the public detail page leaves out: the unit's own remark is not part of 双公示.
PRIVATE_FIELDS = ("remark",)


@dataclass(frozen=True)
class Search:
    mode: str
    value: str

    @property
    def label(self):
        return MODES[self.mode]


def search_parse(text, mode):
    """A Search for what the visitor typed (None for an empty box); QueryError with a Chinese message."""
    text = (text or "").strip()
    mode = mode if mode in MODES else NAME
    if not text:
        return None
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"输入过长（{len(text)} 个字），最多 {MAX_QUERY_LENGTH} 个字。")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise QueryError("输入中含有不可见的控制字符，请重新输入。")
    if mode == DOC:
        return Search(DOC, text)
    compact = normalise_code(text)
    if _is_resident_id(compact):
        raise QueryError("公示页面不提供按身份证号码查询：自然人的证件号码只显示前 6 位和后 4 位。"
                         "请按名称、统一社会信用代码或文书号查询。")
    try:  # a valid 统一社会信用代码 is searched as one, also when typed into the name box
        return Search(CODE, check_uscc(compact))
    except FieldError:
        if mode == CODE:
            return Search(CODE, code_check(text))  # raises QueryError saying what is wrong
    if RESIDENT_LIKE.match(compact):
        raise QueryError(f"“{text}”既不是有效的统一社会信用代码，也不是名称；公示页面不提供按证件号码查询。")
    name = name_clean(text)
    if len(name) < MIN_NAME_LENGTH:
        raise QueryError(f"按名称查询请至少输入 {MIN_NAME_LENGTH} 个字。")
    return Search(NAME, name)


def _is_resident_id(compact):
    try:
        check_resident_id(compact)
    except FieldError:
        return False
    return len(compact) == 18


def entries(kind, search, *, today):
    """The entries of a kind a search finds, newest decision first (a queryset)."""
    found = PublicEntry.objects.filter(kind=kind)
    if kind == Kind.PENALTY:
        found = found.filter(publicity_end__gte=today)
    if search is not None:
        if search.mode == CODE:
            found = found.filter(credit_code=search.value)
        elif search.mode == DOC:
            found = found.filter(doc_number__startswith=search.value)
        else:
            found = found.filter(_name_like(f"%{_escape(search.value)}%"), name_searchable=True)
    return found.order_by("-decision_date", "-record_id")


def _escape(text):
    """Text for a LIKE pattern: its wildcards escaped, either kind of bracket matching either (（）/ ())."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for bracket in "()（）":
        escaped = escaped.replace(bracket, "_")
    return escaped


def _name_like(pattern):
    column = f"{connection.ops.quote_name(PublicEntry._meta.db_table)}.{connection.ops.quote_name('name')}"
    # ILIKE only for Latin letters (Chinese has no case; ILIKE folds every name it checks).
    operator = "ILIKE" if connection.vendor == "postgresql" and any("a" <= c.lower() <= "z" for c in pattern) else "LIKE"
    return RawSQL(f"{column} {operator} %s ESCAPE '\\'", [pattern], output_field=BooleanField())


@dataclass
class Page:
    rows: list
    number: int
    pages: int
    total: int
    truncated: bool  # more than MAX_PAGES pages matched

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.number < self.pages

    def nearby(self):
        """Page numbers around this one, for the pagination bar."""
        return list(range(max(1, self.number - 3), min(self.pages, self.number + 3) + 1))


def page_number(text):
    """The ?page= of the address: a positive integer, 1 for anything else."""
    try:
        number = int(str(text or "1").strip()[:12])
    except ValueError:
        return 1
    return max(number, 1)


def page_of(found, number):
    """One page of a queryset; a page past the last shows the last.  Counting stops after MAX_PAGES pages,
    so a list of 500,000 entries costs no more than one of 1,000."""
    cap = PAGE_SIZE * MAX_PAGES
    total = found[:cap + 1].count()
    truncated = total > cap
    total = min(total, cap)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    number = min(max(number, 1), pages)
    rows = list(found[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]) if total else []
    return Page(rows=rows, number=number, pages=pages, total=total, truncated=truncated)


def latest(kind, *, today, count=10):
    return list(entries(kind, None, today=today)[:count])


@dataclass
class Detail:
    entry: PublicEntry
    record: Record
    fields: list  # (header, value) as shown


def detail(kind, record_id, *, today):
    """A public record with its fields masked, or None when it is not public (not accepted, past 公示)."""
    entry = PublicEntry.objects.filter(pk=record_id, kind=kind).first()
    if entry is None or (kind == Kind.PENALTY and not rules.in_publicity(entry.publicity_end, today)):
        return None
    # The record itself, and again only if its month is accepted (the entry follows the month's status).
    record = (Record.objects.filter(pk=record_id, report__status=ReportStatus.ACCEPTED)
              .select_related("category").first())
    if record is None:
        return None
    shown = rules.shown_values(record.data)
    fields = [(f.header, _text(shown.get(f.key))) for f in record.category.get_schema().fields
              if f.key not in PRIVATE_FIELDS]
    return Detail(entry=entry, record=record, fields=fields)


def _text(value):
    if value is None or value == "":
        return "—"
    if value == "2099-12-31":
        return "长期"
    # Amounts are stored as JSON numbers: 1200.0 and 1e-06 are shown as 1200 and 0.000001, as exported.
    return cell_text(value)
