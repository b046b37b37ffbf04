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
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

import orjson
from django.db import connection
from django.db.models import BooleanField, Case, Count, F, Max, Min, Q, TextField, Value, When
from django.db.models.expressions import RawSQL

from reporting.models import Record, ReportStatus
from reporting.validators import mask_id_number

from . import kinds, marks
from .models import LookupGrant
from .queries import CODE, ID_NUMBER, NAME, Query

SUBJECT_LIMIT = 50  # subjects shown for one search
NAME_SCAN_LIMIT = 3000  # matching records read to find the subjects of a name search
SIMILAR_LIMIT = 20
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


def searchable_records():
    return Record.objects.filter(report__status=ReportStatus.ACCEPTED, category__schema__in=kinds.SUBJECT_SCHEMAS)


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
    """The subjects a query finds; for a name, also subjects with similar names (word similarity)."""
    if query.mode == CODE:
        found, truncated = [Subject(CODE, query.value)], False
    elif query.mode == ID_NUMBER:
        rows = (searchable_records().filter(id_number=query.value).exclude(id_number="")
                .values_list("credit_code", "id_number", "subject_name").distinct())
        found, truncated = [Subject.of(*row) for row in rows[:limit]], False
    else:
        found, truncated = _name_subjects(query.value, limit)
    result = SearchResult(query=query, subjects=summaries(found), truncated=truncated)
    if query.mode == NAME and similar:
        seen = {s.subject for s in result.subjects}
        result.similar = [s for s in _similar_subjects(query.value, SIMILAR_LIMIT + len(seen)) if s.subject not in seen]
        result.similar = result.similar[:SIMILAR_LIMIT]
    return result


def _name_subjects(name, limit):
    """Subjects with a record whose name contains the text: exact names first, then shorter names."""
    rows = list(
        searchable_records().filter(name_contains(name))
        .values_list("credit_code", "id_number", "subject_name")[:NAME_SCAN_LIMIT + 1]
    )
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
    """A LIKE pattern for text anywhere in a name; either kind of bracket matches either (（）/ ())."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for bracket in "()（）":
        escaped = escaped.replace(bracket, "_")
    return f"%{escaped}%"


def name_contains(text):
    column = f"{connection.ops.quote_name(Record._meta.db_table)}.{connection.ops.quote_name('subject_name')}"
    if connection.vendor == "postgresql":
        return RawSQL(f"{column} ILIKE %s", [like_pattern(text)], output_field=BooleanField())
    return RawSQL(f"{column} LIKE %s ESCAPE '\\'", [like_pattern(text)], output_field=BooleanField())


def _similar_subjects(name, limit):
    if connection.vendor == "postgresql":
        column = f"{connection.ops.quote_name(Record._meta.db_table)}.{connection.ops.quote_name('subject_name')}"
        rows = (searchable_records()
                .filter(RawSQL(f"%s <%% {column}", [name], output_field=BooleanField()))
                .annotate(similarity=RawSQL(f"word_similarity(%s, {column})", [name]))
                .order_by("-similarity")
                .values_list("credit_code", "id_number", "subject_name", "similarity")[:NAME_SCAN_LIMIT])
    else:
        rows = _sqlite_similar_rows(name)
    best = {}
    for code, id_number, subject_name, similarity in rows:
        subject = Subject.of(code, id_number, subject_name)
        best[subject] = max(similarity, best.get(subject, 0))
    ordered = sorted(best, key=lambda s: -best[s])[:limit]
    found = {s.subject: s for s in summaries(ordered)}
    result = []
    for subject in ordered:
        if subject in found:
            found[subject].similarity = round(best[subject], 2)
            result.append(found[subject])
    return result


def _pairs(text):
    text = text.replace(" ", "")
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def _sqlite_similar_rows(name):
    """Candidates sharing a character pair with the name, scored by the share of the name's pairs they hold."""
    pairs = sorted(_pairs(name))[:12]
    rows = (searchable_records().filter(reduce(or_, (Q(subject_name__contains=p) for p in pairs)))
            .values_list("credit_code", "id_number", "subject_name")[:NAME_SCAN_LIMIT])
    wanted = _pairs(name)
    for code, id_number, subject_name in rows:
        score = len(wanted & _pairs(subject_name)) / len(wanted)
        if score >= SQLITE_SIMILARITY:
            yield code, id_number, subject_name, score


def summaries(subjects):
    """A SubjectSummary per subject that has records, in the order given."""
    if not subjects:
        return []
    rows = (searchable_records().filter(subjects_q(subjects))
            .values("credit_code", "id_number", "subject_name", "category__code", "category__schema")
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
            counts[kinds.kind_of(row["category__code"], row["category__schema"]).code] += row["n"]
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


def facts_by_field(field_name, values):
    """{value: ([Fact], {names})} for the records whose `field_name` (credit_code, id_number,
    subject_name) is one of the values: what a batch check needs, in one query."""
    if not values:
        return {}
    penalty_data = Case(When(category__schema="penalty", then=F("data")), default=Value(""), output_field=TextField())
    rows = (searchable_records().filter(**{f"{field_name}__in": values}).exclude(**{field_name: ""})
            .annotate(penalty_data=penalty_data)
            .values_list(field_name, "subject_name", "category__code", "category__schema", "record_date",
                         "penalty_data"))
    found = {}
    for value, name, category_code, schema, day, data in rows.iterator(chunk_size=5000):
        kind = kinds.kind_of(category_code, schema)
        end = marks.penalty_publicity_end(orjson.loads(data))[0] if data else None
        facts, names = found.setdefault(value, ([], set()))
        facts.append(marks.Fact(kind, day, end, category_code))
        names.add(name)
    return found
