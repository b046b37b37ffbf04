"""Writes of the public disclosure: its entries follow the months' acceptance (services own the writes)."""

import io
import logging

from django.core.cache import cache
from django.db import connection, transaction

from lookup import kinds
from reporting.models import Category, MonthlyReport, Record, ReportStatus

from . import rules
from .models import Kind, PublicEntry

logger = logging.getLogger(__name__)

CHUNK = 2000
# Bumped whenever entries change: part of every cached page's key, so no page outlives a change.
VERSION_KEY = "disclosure:version"
KIND_OF = {kinds.LICENSE: Kind.LICENSE, kinds.PENALTY: Kind.PENALTY}


def disclosed_categories():
    """{category id: Kind} of the categories the public pages show: those lookup counts as 行政许可 / 行政处罚."""
    found = {}
    for pk, code, schema in Category.objects.values_list("pk", "code", "schema"):
        kind = KIND_OF.get(kinds.kind_of(code, schema))
        if kind is not None and schema in ("license", "penalty"):
            found[pk] = kind
    return found


COLUMNS = ("record_id", "report_id", "kind", "decision_date", "publicity_end", "subject_type", "name",
           "name_searchable", "credit_code", "doc_number", "subkind", "authority")


def entry_values(record_id, report_id, kind, record_date, data):
    """The public row of one record, in COLUMNS order (names masked, the penalty's 公示 end computed)."""
    decided = record_date or rules.as_date(data.get("decision_date"))
    subject_type = str(data.get("subject_type") or "")
    subkind = data.get("penalty_kind") if kind == Kind.PENALTY else data.get("license_kind")
    return (
        record_id, report_id, str(kind), decided,
        rules.publicity_end(data, decided) if kind == Kind.PENALTY else None,
        subject_type[:20], rules.shown_name(data)[:200], rules.name_searchable(subject_type),
        "" if rules.is_person(subject_type) else str(data.get("credit_code") or "")[:18],
        str(data.get("doc_number") or "")[:100], str(subkind or "")[:100], str(data.get("authority") or "")[:200],
    )


def _insert(records, categories):
    """Write the entries of (id, report id, category id, date, data) rows in chunks; returns the count."""
    chunk, written = [], 0
    for record_id, report_id, category_id, record_date, data in records:
        if record_date is None and not data.get("decision_date"):
            continue  # cannot be placed in a list ordered by decision date; the schema requires the date
        chunk.append(entry_values(record_id, report_id, categories[category_id], record_date, data))
        if len(chunk) >= CHUNK:
            written += _write(chunk)
            chunk = []
    return written + (_write(chunk) if chunk else 0)


def _write(rows):
    """PostgreSQL: one COPY per chunk (2.5 times faster than INSERT here: an accepted month of 100,000
    records would otherwise add some 15 s to its acceptance).  Elsewhere: bulk_create."""
    if connection.vendor != "postgresql":
        PublicEntry.objects.bulk_create([PublicEntry(**dict(zip(COLUMNS, row, strict=True))) for row in rows])
        return len(rows)
    text = io.StringIO("".join("\t".join(map(_copy_text, row)) + "\n" for row in rows))
    sql = f"COPY {PublicEntry._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(sql, text)
    return len(rows)


def _copy_text(value):
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _records(report_ids, categories):
    return (Record.objects.filter(report_id__in=report_ids, category_id__in=list(categories)).order_by()
            .values_list("pk", "report_id", "category_id", "record_date", "data").iterator(chunk_size=CHUNK))


def entries_sync_report(*, report_id):
    """Make the report's public entries match its status: its records when accepted, nothing otherwise.
    Returns the number of entries written."""
    with transaction.atomic():
        PublicEntry.objects.filter(report_id=report_id).delete()
        status = MonthlyReport.objects.filter(pk=report_id).values_list("status", flat=True).first()
        written = 0
        if status == ReportStatus.ACCEPTED:
            categories = disclosed_categories()
            written = _insert(_records([report_id], categories), categories)
        transaction.on_commit(version_bump)
    return written


def entries_rebuild():
    """All entries again from the accepted months (after a deployment, or to repair). Returns the count."""
    with transaction.atomic():
        PublicEntry.objects.all().delete()
        categories = disclosed_categories()
        accepted = list(MonthlyReport.objects.filter(status=ReportStatus.ACCEPTED).values_list("pk", flat=True))
        written = 0
        for start in range(0, len(accepted), 100):
            written += _insert(_records(accepted[start:start + 100], categories), categories)
        transaction.on_commit(version_bump)
    return written


def version_bump():
    """A new key space for cached pages (the old entries expire by themselves)."""
    try:
        if not cache.add(VERSION_KEY, 1, timeout=None):
            cache.incr(VERSION_KEY)
    except Exception:  # a cache outage must not fail an acceptance; pages then expire within their timeout
        logger.exception("could not bump the disclosure cache version")
