"""Reads of the lookup: who may look, subject search, a subject's records and marks.

Only records of accepted months (已通过) are searched, across all units, and only
categories whose records name a market subject (kinds.SUBJECT_SCHEMAS).

A subject is what its records identify it by: a 统一社会信用代码; else an ID
number (证件号码); else only a name.  Those three partition the records, so a
record belongs to exactly one subject and nothing is merged by guesswork
(two records with the same name but different codes are two subjects).

Indexes (lookup migration 0002): credit_code and id_number (partial, non-empty),
subject_name with pg_trgm's GIN on PostgreSQL (ILIKE substring and word
similarity), a plain index on SQLite (exact names; substrings scan).
"""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

import orjson
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Count, F, Max, Min, Q, TextField, Value, When
from django.db.models.expressions import RawSQL

from reporting.models import Category, MonthlyReport, Record, ReportStatus
from reporting.validators import mask_id_number

from . import kinds, marks
from .models import LookupGrant
from .queries import CODE, ID_NUMBER, NAME, Query

SUBJECT_LIMIT = 50  # subjects shown for one search
NAME_SCAN_LIMIT = 3000  # matching records read to find the subjects of a name search
SIMILAR_LIMIT = 20
SIMILAR_WHEN_FEWER = 5  # similar names are looked for when the name itself finds fewer subjects
SHORT_NAME = 2  # a name of at most this many characters is matched at the start of names
# pg_trgm word similarity from which a name counts as similar (its default, 0.6, misses "营口恒昌贸易"
# for "营口市恒昌贸易有限公司": 0.4 once the legal form is left out).
SIMILARITY_THRESHOLD = 0.4
# SQLite has no trigrams: a name is similar when this share of the query's character pairs occur in it.
SQLITE_SIMILARITY = 0.5


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
    """What a lookup may read: the accepted months' reports and the categories about subjects.

    Categories go to the database as a list of ids (a few), reports as a subquery — or, for
    a batch check's long lists of codes, as a list of ids too: with a subquery (or a join)
    and stale statistics on the reports table (estimated at 3 accepted reports) the planner
    walked every report's records instead of using the code index (85 ms for 1,000 codes at
    50,000 records, against 15 ms).  A single lookup's code index is selective enough either
    way, and a long list of constants costs planning time, so single lookups keep the subquery.
    """

    reports: object  # a queryset of accepted report ids, or a tuple of them
    categories: dict  # id -> (code, schema)

    def kind(self, category_id):
        return kinds.kind_of(*self.categories[category_id])

    def code(self, category_id):
        return self.categories[category_id][0]

    def ids_of_schema(self, schema):
        return [pk for pk, (_, of_schema) in self.categories.items() if of_schema == schema]


def lookup_scope(*, listed=False):
    """The scope of a lookup; `listed` fetches the accepted reports' ids (for long lists of codes)."""
    reports = MonthlyReport.objects.filter(status=ReportStatus.ACCEPTED).order_by().values("pk")
    return Scope(
        reports=tuple(r["pk"] for r in reports) if listed else reports,
        categories={pk: (code, schema) for pk, code, schema in
                    Category.objects.filter(schema__in=kinds.SUBJECT_SCHEMAS).values_list("pk", "code", "schema")},
    )


def searchable_records(scope=None):
    scope = scope or lookup_scope()
    return Record.objects.filter(report_id__in=scope.reports, category_id__in=list(scope.categories)).order_by()


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
        parts.append(Q(credit_code="", id_number="", subject_name__in=by_kind[NAME]))
    return reduce(or_, parts) if parts else Q(pk__in=[])


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
    """Subjects with a record whose name contains the text: exact names first, then shorter names."""
    rows = list(records.filter(name_contains(name))
                .values_list("credit_code", "id_number", "subject_name")[:NAME_SCAN_LIMIT + 1])
    truncated = len(rows) > NAME_SCAN_LIMIT
    best = {}
    for code, id_number, subject_name in rows[:NAME_SCAN_LIMIT]:
        subject = Subject.of(code, id_number, subject_name)
        rank = (subject_name != name, len(subject_name), subject_name)
        if subject not in best or rank < best[subject]:
            best[subject] = rank
    ordered = sorted(best, key=best.__getitem__)
    return ordered[:limit], truncated or len(ordered) > limit


def like_pattern(text):
    """A LIKE pattern for the text anywhere in a name — or, for one or two characters, at its start.

    Either kind of bracket matches either (（）/ ()).  Two characters hold no trigram, so
    "anywhere" would read every name; a name that short is a person's or the start of one.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for bracket in "()（）":
        escaped = escaped.replace(bracket, "_")
    return f"{escaped}%" if len(text) <= SHORT_NAME else f"%{escaped}%"


def _column(name):
    return f"{connection.ops.quote_name(Record._meta.db_table)}.{connection.ops.quote_name(name)}"


def name_contains(text):
    if connection.vendor == "postgresql":
        return RawSQL(f"{_column('subject_name')} ILIKE %s", [like_pattern(text)], output_field=BooleanField())
    return RawSQL(f"{_column('subject_name')} LIKE %s ESCAPE '\\'", [like_pattern(text)],
                  output_field=BooleanField())


# Words of a company's legal form say nothing about which company it is, and their trigrams are in
# most names: left out of the similarity query, they no longer make it read most of the index.
_LEGAL_FORMS = re.compile(r"(股份有限公司|有限责任公司|有限公司|分公司|公司|商店|经营部|门市部|工作室|合作社)$")


def similarity_core(name):
    core = _LEGAL_FORMS.sub("", name.replace(" ", ""))
    return core if len(core) >= SHORT_NAME + 1 else name


def _similar_subjects(records, name, limit, scope):
    core = similarity_core(name)
    if connection.vendor == "postgresql":
        column = _column("subject_name")
        rows = (records.filter(RawSQL(f"%s <%% {column}", [core], output_field=BooleanField()))
                .annotate(similarity=RawSQL(f"word_similarity(%s, {column})", [core]))
                .order_by("-similarity")
                .values_list("credit_code", "id_number", "subject_name", "similarity")[:NAME_SCAN_LIMIT])
        with transaction.atomic():  # the threshold of <% for this query only
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                               [str(SIMILARITY_THRESHOLD)])
            rows = list(rows)
    else:
        rows = _sqlite_similar_rows(records, core)
    best = {}
    for code, id_number, subject_name, similarity in rows:
        subject = Subject.of(code, id_number, subject_name)
        best[subject] = max(similarity, best.get(subject, 0))
    ordered = sorted(best, key=lambda s: -best[s])[:limit]
    found = summaries(ordered, scope=scope)
    for summary in found:
        summary.similarity = round(best[summary.subject], 2)
    return found


def _pairs(text):
    text = text.replace(" ", "")
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def _sqlite_similar_rows(records, name):
    """Candidates sharing a character pair with the name, scored by the share of the name's pairs they hold."""
    pairs = sorted(_pairs(name))[:12]
    rows = (records.filter(reduce(or_, (Q(subject_name__contains=p) for p in pairs)))
            .values_list("credit_code", "id_number", "subject_name")[:NAME_SCAN_LIMIT])
    wanted = _pairs(name)
    for code, id_number, subject_name in rows:
        score = len(wanted & _pairs(subject_name)) / len(wanted)
        if score >= SQLITE_SIMILARITY:
            yield code, id_number, subject_name, score


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
    rows = (searchable_records(scope).filter(**{f"{field_name}__in": values}).exclude(**{field_name: ""})
            .annotate(penalty_data=penalty_data)
            .values_list(field_name, "subject_name", "category_id", "record_date", "penalty_data"))
    found = {}
    for value, name, category_id, day, data in rows.iterator(chunk_size=5000):
        end = marks.penalty_publicity_end(orjson.loads(data))[0] if data else None
        facts, names = found.setdefault(value, ([], set()))
        facts.append(marks.Fact(scope.kind(category_id), day, end, scope.code(category_id)))
        names.add(name)
    return found
