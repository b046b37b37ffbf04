"""Reads of the lookup: who may look, subject search, a subject's records and marks.

Only records of accepted months (已通过) are searched, across all units, and only
categories whose records name a market subject (kinds.SUBJECT_SCHEMAS).

A subject is what its records identify it by: a 统一社会信用代码; else an ID
number (证件号码); else only a name.  Those three partition the records, so a
record belongs to exactly one subject and nothing is merged by guesswork
(two records with the same name but different codes are two subjects).

Indexes (lookup migrations 0002, 0003): credit_code and id_number (partial: accepted months, non-empty),
subject_name with pg_trgm's GIN on PostgreSQL (LIKE '%…%' for substrings, exact
and similar names), a plain index on SQLite (exact names; substrings scan).
"""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

import orjson
from django.db import connection
from django.db.models import BooleanField, Case, Count, F, Max, Min, Q, TextField, Value, When
from django.db.models.expressions import RawSQL

from reporting.models import Category, MonthlyReport, Record, ReportStatus
from reporting.validators import mask_id_number

from . import kinds, marks
from .models import LookupGrant
from .queries import CODE, ID_NUMBER, NAME, Query

SUBJECT_LIMIT = 50  # subjects shown for one search
NAME_SCAN_LIMIT = 1000  # matching records read to find the subjects of a name search
SIMILAR_LIMIT = 20
SIMILAR_WHEN_FEWER = 1  # similar names are looked for when the name itself finds fewer subjects (none)
SHORT_NAME = 2  # a name of at most this many characters is matched at the start of names
NAME_PIECE = 7  # a name is looked up in the index by at most this many characters of it (sql_piece)
# Similar names: a name is similar when it holds this share of the query's character pairs; candidates
# come from each of up to SIMILAR_WINDOWS three-character pieces of the query, SIMILAR_PER_WINDOW each.
SIMILARITY_THRESHOLD = 0.5
SIMILAR_WINDOWS = 5
SIMILAR_PER_WINDOW = 60


# --- who may look -------------------------------------------------------------------


def can_lookup(user):
    """The office, and staff of a unit an administrator granted 核查 (LookupGrant)."""
    if not user.is_authenticated:
        return False
    if user.is_office:
        return True
    if user.unit_id is None:
        return False
    granted = getattr(user, "_lookup_granted", None)
    if granted is None:
        granted = user._lookup_granted = LookupGrant.objects.filter(
            unit_id=user.unit_id, unit__is_active=True
        ).exists()
    return granted


def sees_id_numbers(user):
    """ID numbers are shown whole to the office (and to the command line, run on the server); masked to others."""
    return user is None or user.is_office


def show_id_number(value, *, unmasked):
    return value if unmasked else mask_id_number(value)


# --- subjects -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a lookup may read: the categories about subjects (their ids), in accepted months."""

    categories: dict  # id -> (code, schema)

    def kind(self, category_id):
        return kinds.kind_of(*self.categories[category_id])

    def code(self, category_id):
        return self.categories[category_id][0]

    def ids_of_schema(self, schema):
        return [pk for pk, (_, of_schema) in self.categories.items() if of_schema == schema]


def lookup_scope():
    return Scope(categories={
        pk: (code, schema)
        for pk, code, schema in Category.objects.filter(schema__in=kinds.SUBJECT_SCHEMAS).values_list("pk", "code", "schema")
    })


def in_accepted_month():
    """Records of accepted months, as a condition the planner cannot turn into a join.

    On PostgreSQL the accepted reports' ids are read once into an array (an InitPlan) and
    each record is checked against it.  As a join or an IN (subquery), stale statistics on
    the reports table (3 accepted reports estimated, 756 there: autovacuum off) made the
    planner walk the reports and run the name index scan once for each — 30 s for one
    name at 1,000,000 records; a list of the ids in the SQL text cost 6 ms a query to
    send and plan.  SQLite gets the plain subquery.
    """
    accepted = MonthlyReport.objects.filter(status=ReportStatus.ACCEPTED).order_by().values("pk")
    if connection.vendor != "postgresql":
        return Q(report_id__in=accepted)
    sql, params = accepted.query.sql_with_params()
    # "searchable" (true exactly for accepted months' records, kept by triggers: reporting migration
    # 0012) lets the planner use the lookup's partial indexes (lookup migration 0003); the report
    # check stays as well.  "+ 0": a filter on the rows found, never an index scan of its own (the
    # planner, misled, read all 1,000,000 entries of the (report, category) index to AND them with
    # 30,000 name matches).
    return RawSQL(f"{_column('searchable')} AND ({_column('report_id')} + 0) = ANY(ARRAY({sql}))", params,
                  output_field=BooleanField())


def searchable_records(scope=None):
    scope = scope or lookup_scope()
    return Record.objects.filter(in_accepted_month(), category_id__in=list(scope.categories)).order_by()


@dataclass(frozen=True)
class Subject:
    kind: str  # CODE, ID_NUMBER or NAME
    value: str

    @classmethod
    def of(cls, credit_code, id_number, name):
        if credit_code:
            return cls(CODE, credit_code)
        if id_number:
            return cls(ID_NUMBER, id_number)
        return cls(NAME, name)

    @property
    def credit_code(self):
        return self.value if self.kind == CODE else ""

    @property
    def id_number(self):
        return self.value if self.kind == ID_NUMBER else ""

    def q(self):
        return subjects_q([self])

    def label(self, *, unmasked):
        if self.kind == CODE:
            return f"统一社会信用代码 {self.value}"
        if self.kind == ID_NUMBER:
            return f"证件号码 {show_id_number(self.value, unmasked=unmasked)}"
        return "无统一社会信用代码或证件号码"


def subjects_q(subjects):
    """The records of these subjects (the conditions name the indexed, non-empty columns)."""
    by_kind = defaultdict(list)
    for subject in subjects:
        by_kind[subject.kind].append(subject.value)
    parts = []
    if by_kind[CODE]:
        parts.append(Q(credit_code__in=by_kind[CODE]) & ~Q(credit_code=""))
    if by_kind[ID_NUMBER]:
        parts.append(Q(credit_code="", id_number__in=by_kind[ID_NUMBER]) & ~Q(id_number=""))
    if by_kind[NAME]:
        parts.append(Q(credit_code="", id_number="") & name_equals(by_kind[NAME]))
    return reduce(or_, parts) if parts else Q(pk__in=[])


def name_equals(names):
    """Records named exactly one of the names.

    On PostgreSQL the index is asked for each name's distinctive piece (sql_piece) and the
    rows found are compared whole; the trigram index asked for equality reads the long
    lists of the common trigrams of every name (350 ms for 50 company names at 1,000,000
    records).  The comparison is written so that it cannot be used as an index condition.
    """
    if connection.vendor != "postgresql":
        return Q(subject_name__in=names)
    pieces = reduce(or_, (Q(_name_like(like_pattern(sql_piece(n)))) for n in names))
    whole = RawSQL(f"({_column('subject_name')} || '') = ANY(%s)", [list(names)], output_field=BooleanField())
    return pieces & Q(whole)


def subject_of_record(record):
    return Subject.of(record.credit_code, record.id_number, record.subject_name)


# --- search -------------------------------------------------------------------------


@dataclass
class SubjectSummary:
    subject: Subject
    name: str  # as the most recent record names it
    other_names: list
    counts: dict  # kind code -> records
    total: int
    last_date: datetime.date | None
    anchor: int  # a record of the subject, for links
    similarity: float | None = None

    @property
    def kinds(self):
        return [(kind, self.counts[kind.code]) for kind in kinds.KINDS if kind.code in self.counts]

    def badges(self):
        """(text, css class) per kind of record, for the result list."""
        return [(f"{kind.label} {n}", BADGE_CLASSES.get(kind.code, "text-bg-secondary")) for kind, n in self.kinds]

    def identifier(self, *, unmasked):
        return self.subject.label(unmasked=unmasked)


BADGE_CLASSES = {"blacklist": "text-bg-danger", "penalty": "text-bg-warning", "redlist": "text-bg-success"}


@dataclass
class SearchResult:
    query: Query
    subjects: list
    similar: list = field(default_factory=list)
    truncated: bool = False

    @property
    def hits(self):
        return len(self.subjects)


def subjects_search(query, *, limit=SUBJECT_LIMIT, similar=True):
    """The subjects a query finds; for a name that finds few, also subjects with similar names."""
    scope = lookup_scope()
    records = searchable_records(scope)
    if query.mode == CODE:
        found, truncated = [Subject(CODE, query.value)], False
    elif query.mode == ID_NUMBER:
        rows = (records.filter(id_number=query.value).exclude(id_number="")
                .values_list("credit_code", "id_number", "subject_name").distinct())
        found, truncated = [Subject.of(*row) for row in rows[:limit]], False
    else:
        found, truncated = _name_subjects(records, query.value, limit)
    result = SearchResult(query=query, subjects=summaries(found, scope=scope), truncated=truncated)
    if query.mode == NAME and similar and len(result.subjects) < SIMILAR_WHEN_FEWER:
        seen = {s.subject for s in result.subjects}
        result.similar = [s for s in _similar_subjects(records, query.value, SIMILAR_LIMIT + len(seen), scope)
                          if s.subject not in seen][:SIMILAR_LIMIT]
    return result


def _name_subjects(records, name, limit):
    """Subjects with a record whose name contains the text: exact names first, then shorter names.

    A long name is looked up in the index by its distinctive end (sql_piece) and each name
    found is then checked for the whole text here.
    """
    piece = sql_piece(name)
    rows = list(records.filter(name_contains(piece))
                .values_list("credit_code", "id_number", "subject_name")[:NAME_SCAN_LIMIT + 1])
    truncated = len(rows) > NAME_SCAN_LIMIT
    if piece != name:
        matches = name_matcher(name)
        rows = [row for row in rows if matches(row[2])]
    best = {}
    for code, id_number, subject_name in rows[:NAME_SCAN_LIMIT]:
        subject = Subject.of(code, id_number, subject_name)
        rank = (subject_name != name, len(subject_name), subject_name)
        if subject not in best or rank < best[subject]:
            best[subject] = rank
    ordered = sorted(best, key=best.__getitem__)
    return ordered[:limit], truncated or len(ordered) > limit


def sql_piece(name):
    """What of a name the database is asked for: at most NAME_PIECE characters before its legal
    form (营口经济技术开发区恒昌贸易有限公司 → 开发区恒昌贸易, 辽宁达远印务有限公司 → 辽宁达远印务).  The place at the start and
    the legal form at the end are in most names, and every common trigram in the pattern is a
    long read of the index (24 ms for one company's full name at 1,000,000 records)."""
    core = _LEGAL_FORMS.sub("", name)
    return core[-NAME_PIECE:] if len(core) > SHORT_NAME else name


def name_matcher(name):
    """name_contains(name) in Python: case-insensitive, either kind of bracket for either."""
    parts = ("[()（）]" if c in "()（）" else re.escape(c) for c in name)
    pattern = re.compile("".join(parts), re.IGNORECASE)
    if len(name) <= SHORT_NAME:
        return lambda text: pattern.match(text) is not None
    return lambda text: pattern.search(text) is not None


def _escape(text):
    """Text for a LIKE pattern: its wildcards escaped, either kind of bracket matching either (（）/ ())."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for bracket in "()（）":
        escaped = escaped.replace(bracket, "_")
    return escaped


def like_pattern(text):
    """A LIKE pattern for the text anywhere in a name — or, for one or two characters, at its start.

    Two characters hold no trigram, so "anywhere" would read every name; a name that short
    is a person's or the start of one.
    """
    return f"{_escape(text)}%" if len(text) <= SHORT_NAME else f"%{_escape(text)}%"


def _column(name):
    return f"{connection.ops.quote_name(Record._meta.db_table)}.{connection.ops.quote_name(name)}"


def _name_like(pattern):
    if connection.vendor == "postgresql":
        # ILIKE folds the case of every name it checks, several times slower than LIKE on Chinese
        # text (which has no case): only a pattern with Latin letters needs it.
        operator = "ILIKE" if any("a" <= c.lower() <= "z" for c in pattern) else "LIKE"
        return RawSQL(f"{_column('subject_name')} {operator} %s", [pattern], output_field=BooleanField())
    return RawSQL(f"{_column('subject_name')} LIKE %s ESCAPE '\\'", [pattern], output_field=BooleanField())


def name_contains(text):
    return _name_like(like_pattern(text))


# Words of a company's legal form say nothing about which company it is, and they are in most names.
_LEGAL_FORMS = re.compile(r"(股份有限公司|有限责任公司|有限公司|股份公司|分公司|公司|商店|经营部|门市部|工作室|合作社)$")


def similarity_core(name):
    """The name without spaces and its legal form (有限公司 …), unless that leaves too little."""
    core = _LEGAL_FORMS.sub("", name.replace(" ", ""))
    return core if len(core) > SHORT_NAME else name.replace(" ", "")


def _pairs(text):
    return {text[i:i + 2] for i in range(len(text) - 1)}


def name_similarity(core, name):
    """The share of the core's character pairs found in the name (1.0: the name holds the core whole)."""
    wanted = _pairs(core)
    return len(wanted & _pairs(name.replace(" ", ""))) / len(wanted) if wanted else 0.0


def _windows(core):
    """The core's distinct three-character pieces, the last SIMILAR_WINDOWS of them.

    A company name reads place, trade name, trade (营口经济技术开发区 · 恒昌 · 贸易): its end tells
    companies apart, its start is shared by thousands, and each piece found in many names
    costs a long read of the index (30 ms each for the pieces of 营口经济技术开发区 at 1,000,000).
    """
    pieces = list(dict.fromkeys(core[i:i + 3] for i in range(len(core) - 2)))
    if len(pieces) > 2:
        pieces = pieces[1:]  # the first piece is all place name
    return pieces[-SIMILAR_WINDOWS:]


def _similar_subjects(records, name, limit, scope):
    """Subjects whose names share most of the name's character pairs (a typo, a missing 市, another legal form).

    Candidates are names holding any of the name's last three-character pieces (_windows),
    each piece read through the trigram index and capped (a piece found in many names adds
    only SIMILAR_PER_WINDOW of them); they are scored in Python by name_similarity.
    pg_trgm's word similarity (<%) was tried first: a name starting with a common place name
    made every name with that start a candidate (seconds at 1,000,000 records).
    SQLite does the same without an index.
    """
    core = similarity_core(name)
    windows = _windows(core)
    if not windows:
        return []
    fields = ("credit_code", "id_number", "subject_name")
    if connection.features.supports_slicing_ordering_in_compound:
        parts = [records.filter(_name_like(f"%{_escape(w)}%")).values_list(*fields)[:SIMILAR_PER_WINDOW]
                 for w in windows]
        rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    else:
        rows = (records.filter(reduce(or_, (_name_like(f"%{_escape(w)}%") for w in windows)))
                .values_list(*fields)[:SIMILAR_PER_WINDOW * len(windows)])
    best = {}
    for code, id_number, subject_name in rows:
        score = name_similarity(core, subject_name)
        if score >= SIMILARITY_THRESHOLD:
            subject = Subject.of(code, id_number, subject_name)
            best[subject] = max(score, best.get(subject, 0))
    ordered = sorted(best, key=lambda s: -best[s])[:limit]
    found = summaries(ordered, scope=scope)
    for summary in found:
        summary.similarity = round(best[summary.subject], 2)
    return found


def summaries(subjects, *, scope=None):
    """A SubjectSummary per subject that has records, in the order given."""
    if not subjects:
        return []
    scope = scope or lookup_scope()
    rows = (searchable_records(scope).filter(subjects_q(subjects))
            .values("credit_code", "id_number", "subject_name", "category_id")
            .annotate(n=Count("id"), last=Max("record_date"), anchor=Min("id")))
    grouped = defaultdict(list)
    for row in rows:
        grouped[Subject.of(row["credit_code"], row["id_number"], row["subject_name"])].append(row)
    result = []
    for subject in subjects:
        group = grouped.get(subject)
        if not group:
            continue
        counts = defaultdict(int)
        name_dates = {}
        for row in group:
            counts[scope.kind(row["category_id"]).code] += row["n"]
            day = row["last"] or datetime.date.min
            name_dates[row["subject_name"]] = max(day, name_dates.get(row["subject_name"], datetime.date.min))
        names = sorted(name_dates, key=lambda n: (name_dates[n], n), reverse=True)
        result.append(SubjectSummary(
            subject=subject, name=names[0], other_names=names[1:], counts=dict(counts),
            total=sum(counts.values()), last_date=max((r["last"] for r in group if r["last"]), default=None),
            anchor=min(r["anchor"] for r in group),
        ))
    return result


# --- a subject's profile ------------------------------------------------------------


@dataclass
class ProfileRecord:
    record: Record
    kind: kinds.Kind
    summary: str
    publicity_end: datetime.date | None = None
    publicity_source: str = ""
    in_publicity: bool | None = None  # penalties only

    @property
    def doc_number(self):
        return record_doc_number(self.record)

    @property
    def period(self):
        return self.record.report.period


@dataclass
class Profile:
    subject: Subject
    name: str
    other_names: list
    records: list  # ProfileRecord, newest first
    marks: marks.Marks
    as_of: datetime.date

    @property
    def sections(self):
        """(kind, records of that kind) in the order of kinds.KINDS."""
        by_kind = defaultdict(list)
        for item in self.records:
            by_kind[item.kind].append(item)
        return [(kind, by_kind[kind]) for kind in sorted(by_kind, key=lambda k: k.order)]

    @property
    def hits(self):
        return len(self.records)


def subject_profile(subject, *, as_of):
    """Every record of the subject dated on or before `as_of`, with its marks; None without records."""
    records = list(
        searchable_records().filter(subjects_q([subject]))
        .filter(Q(record_date__lte=as_of) | Q(record_date__isnull=True))
        .select_related("unit", "category", "report")
        .order_by(F("record_date").desc(nulls_last=True), "category__order", "id")
    )
    if not records:
        return None
    items = [profile_record(r, as_of=as_of) for r in records]
    name_dates = {}
    for r in records:
        name_dates.setdefault(r.subject_name, r.record_date)
    names = list(name_dates)
    return Profile(
        subject=subject, name=names[0], other_names=names[1:], records=items, as_of=as_of,
        marks=marks.marks_compute((marks.Fact(i.kind, i.record.record_date, i.publicity_end) for i in items),
                                  as_of=as_of),
    )


def profile_record(record, *, as_of):
    kind = kinds.kind_of(record.category.code, record.category.schema)
    item = ProfileRecord(record=record, kind=kind, summary=record_summary(record))
    if kind is kinds.PENALTY:
        item.publicity_end, item.publicity_source = marks.penalty_publicity_end(record.data)
        item.in_publicity = marks.penalty_in_publicity(item.publicity_end, as_of)
    return item


def record_doc_number(record):
    return record.doc_number or str(record.data.get("doc_number") or "")


def record_summary(record):
    """One line on what the record says: the licence, the penalty, the listing."""
    data = record.data
    if record.category.schema == "license":
        parts = [data.get("doc_name"), data.get("content")]
    elif record.category.schema == "penalty":
        parts = [data.get("violation_type"), data.get("penalty_content") or data.get("penalty_kind")]
    else:
        parts = [data.get("matter")]
    return "；".join(str(p) for p in parts if p)


def record_visible(record_id):
    """A searchable record by id (accepted month, subject category), or None."""
    return searchable_records().select_related("unit", "category", "report").filter(pk=record_id).first()


# --- batch checks -------------------------------------------------------------------


def facts_by_field(field_name, values, *, scope):
    """{value: ([Fact], {names})} for the records whose `field_name` (credit_code, id_number,
    subject_name) is one of the values: what a batch check needs, in one query."""
    if not values:
        return {}
    penalty_data = Case(When(category_id__in=scope.ids_of_schema("penalty"), then=F("data")), default=Value(""),
                         output_field=TextField())
    condition = name_equals(values) if field_name == "subject_name" else Q(**{f"{field_name}__in": values})
    rows = (searchable_records(scope).filter(condition).exclude(**{field_name: ""})
            .annotate(penalty_data=penalty_data)
            .values_list(field_name, "subject_name", "category_id", "record_date", "penalty_data"))
    found = {}
    for value, name, category_id, day, data in rows.iterator(chunk_size=5000):
        end = marks.penalty_publicity_end(orjson.loads(data))[0] if data else None
        facts, names = found.setdefault(value, ([], set()))
        facts.append(marks.Fact(scope.kind(category_id), day, end, scope.code(category_id)))
        names.add(name)
    return found
