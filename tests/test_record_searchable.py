"""records.searchable is true exactly for the records of accepted months, whatever writes them.

The lookup's indexes are partial on it (lookup migration 0003), so an upload into a month that is
not accepted writes none of their entries; database triggers (reporting migration 0012) keep the
flag right on acceptance, reopening, and rows written into an accepted month by any path.
"""

import pytest
from django.db import connection

from lookup import selectors
from lookup.queries import CODE, Query
from reporting import services
from reporting.models import Category, ImportBatch, Record

from .factories import records, uscc, xlsx_bytes


def _flags(report):
    return sorted(set(Record.objects.filter(report=report).values_list("searchable", flat=True)))


@pytest.fixture
def accepted(dept_report, upload, users):
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 4)))
    assert batch.status == ImportBatch.Status.SUCCEEDED
    assert _flags(dept_report) == [False]  # an upload into an open month: not searchable yet
    services.report_submit(report=dept_report, user=None, confirm_nil=True)
    services.report_accept(report=dept_report, user=None)
    return dept_report


def test_accepting_a_month_makes_its_records_searchable_and_reopening_takes_them_out(accepted, users):
    assert _flags(accepted) == [True]
    code = Record.objects.filter(report=accepted).exclude(credit_code="").values_list("credit_code", flat=True)[0]
    assert selectors.subjects_search(Query(CODE, code)).subjects
    services.report_reopen(report=accepted, user=None, reason="更正")
    assert _flags(accepted) == [False]
    assert not selectors.subjects_search(Query(CODE, code)).subjects
    services.report_submit(report=accepted, user=None, confirm_nil=True)
    assert _flags(accepted) == [False]  # submitted is not accepted
    services.report_accept(report=accepted, user=None)
    assert _flags(accepted) == [True]
    assert selectors.subjects_search(Query(CODE, code)).subjects


def test_a_record_written_into_an_accepted_month_by_the_orm_is_searchable(accepted):
    template = Record.objects.filter(report=accepted).first()
    code = uscc(987)
    Record.objects.create(report=accepted, unit=accepted.unit, category=Category.objects.get(code="admin_license"),
                          batch=template.batch, row_number=99, doc_number="ORM-1", subject_name="直接写入有限公司",
                          credit_code=code, data="{}")
    assert Record.objects.get(doc_number="ORM-1").searchable is True
    [subject] = selectors.subjects_search(Query(CODE, code)).subjects
    assert subject.name == "直接写入有限公司"


def test_records_of_other_months_keep_their_flag(accepted, upload, users):
    from reporting.models import Unit

    from .factories import period

    other = services.report_get_or_create(unit=Unit.objects.get(code="D02"), period=period(2019, 9))
    upload(other, "admin_license", xlsx_bytes("license", records("license", 2, start=50)))
    assert _flags(other) == [False]
    services.report_reopen(report=accepted, user=None, reason="更正")
    assert _flags(other) == [False]
    assert Record.objects.filter(report=other).count() == 2


@pytest.mark.postgres
def test_an_upload_writes_no_entry_of_the_lookup_indexes_and_the_lookup_uses_them(accepted, dept_report):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'lookup_record_%'")
        definitions = [row[0] for row in cursor.fetchall()]
    assert len(definitions) == 3 and all("searchable" in d for d in definitions), definitions
    code = Record.objects.filter(report=accepted).exclude(credit_code="").values_list("credit_code", flat=True)[0]
    query = selectors.searchable_records().filter(credit_code=code).values("id").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "lookup_record_credit_code" in plan, plan
