"""Record imports through the shared services: all or nothing, replace, idempotence, audit."""

import datetime
import hashlib
import io
import os

import pytest
from django.utils import timezone

from reporting import imports, services
from reporting.models import AuditEvent, Category, Deadline, ImportBatch, Record, Unit

from .factories import csv_bytes, period, records, uscc, xlsx_bytes

LICENSE = "admin_license"


@pytest.fixture
def open_months(db):
    """August and July 2019 still open for units: their lock day lies in the future."""
    later = timezone.localdate() + datetime.timedelta(days=30)
    for month in (7, 8):
        Deadline.objects.create(period=period(month=month), due_date=later, lock_date=later)


@pytest.fixture
def reporter(users, open_months):
    return users["dept"]


def license_file(count=5, start=0, **overrides):
    return xlsx_bytes("license", records("license", count, start=start, **overrides))


def stored(report, code=LICENSE):
    return Record.objects.filter(report=report, category__code=code)


def entry(report, code=LICENSE):
    return report.entries.get(category__code=code)


# --- all or nothing ---------------------------------------------------------------


def test_one_bad_row_among_fifty_stores_nothing(dept_report, upload, reporter):
    rows = records("license", 50)
    rows[29]["credit_code"] = "91110000600037341M"
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", rows), user=reporter)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.errors == [{"row": 31, "column": "统一社会信用代码", "message": "统一社会信用代码校验位错误，请核对是否抄错"}]
    assert (batch.total_rows, batch.valid_rows, batch.imported_rows, batch.error_count) == (50, 49, 0, 1)
    assert batch.message == "共 50 行，其中 1 行有错误（1 处），本次未导入任何数据。"
    assert stored(dept_report).count() == 0
    assert entry(dept_report).record_count == 0
    assert entry(dept_report).current_batch is None


def test_failed_upload_leaves_the_previous_records_in_place(dept_report, upload, reporter):
    good = upload(dept_report, LICENSE, license_file(5), user=reporter)
    bad = upload(dept_report, LICENSE, license_file(8, subject_type="外籍人士"), user=reporter)
    assert bad.status == ImportBatch.Status.FAILED
    assert bad.error_count == 8
    assert set(stored(dept_report).values_list("batch", flat=True)) == {good.pk}
    assert entry(dept_report).record_count == 5
    assert entry(dept_report).current_batch == good


def test_keep_valid_rows_stores_only_the_good_rows_when_asked(dept_report, upload, reporter):
    rows = records("license", 50)
    rows[9]["decision_date"] = "2019-02-30"
    rows[19]["subject_name"] = ""
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", rows), user=reporter, keep_valid_rows=True)
    assert batch.status == ImportBatch.Status.SUCCEEDED
    assert batch.keep_valid_rows is True
    assert (batch.imported_rows, batch.error_count) == (48, 2)
    assert [e["row"] for e in batch.errors] == [11, 21]
    assert batch.message == "成功导入 48 条记录，跳过有错误的 2 行。"
    rows_stored = set(stored(dept_report).values_list("row_number", flat=True))
    assert rows_stored == set(range(2, 52)) - {11, 21}
    assert entry(dept_report).record_count == 48


def test_keep_valid_rows_with_no_good_row_keeps_the_previous_records(dept_report, upload, reporter):
    good = upload(dept_report, LICENSE, license_file(4), user=reporter)
    batch = upload(dept_report, LICENSE, license_file(3, status="暂停"), user=reporter, keep_valid_rows=True)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.message == "共 3 行，其中 3 行有错误（3 处），本次未导入任何数据。"
    assert entry(dept_report).current_batch == good
    assert stored(dept_report).count() == 4


def test_keep_valid_rows_is_never_the_default(dept_report, upload):
    batch = upload(dept_report, LICENSE, license_file(3, status="暂停"))
    assert batch.keep_valid_rows is False
    assert batch.status == ImportBatch.Status.FAILED


# --- replace and idempotence -----------------------------------------------------------


def test_corrected_upload_replaces_the_categorys_rows(dept_report, upload, reporter):
    first = upload(dept_report, LICENSE, license_file(5), user=reporter)
    upload(dept_report, "admin_penalty", xlsx_bytes("penalty", records("penalty", 2)), user=reporter)
    second = upload(dept_report, LICENSE, license_file(3, start=100), user=reporter)
    assert (first.imported_rows, first.replaced_rows) == (5, 0)
    assert second.status == ImportBatch.Status.SUCCEEDED
    assert (second.imported_rows, second.replaced_rows) == (3, 5)
    assert second.message == "成功导入 3 条记录，替换了此前导入的 5 条。"
    assert sorted(stored(dept_report).values_list("doc_number", flat=True)) == [
        "营测〔2019〕100号", "营测〔2019〕101号", "营测〔2019〕102号",
    ]
    assert entry(dept_report).record_count == 3
    assert entry(dept_report).current_batch == second
    # The other category is untouched.
    assert stored(dept_report, "admin_penalty").count() == 2


def test_an_appended_file_sent_again_is_a_duplicate_counted_by_its_own_rows(dept_report, upload, reporter):
    upload(dept_report, LICENSE, license_file(4), user=reporter)
    appended = license_file(3, start=10)
    assert upload(dept_report, LICENSE, appended, user=reporter, mode="append").imported_rows == 3
    again = upload(dept_report, LICENSE, appended, name="again.xlsx", user=reporter, mode="append")
    assert again.status == ImportBatch.Status.DUPLICATE
    assert again.message == "该文件与当前已导入的文件完全相同（3 条），未重复计数。"  # not the category's 7
    assert stored(dept_report).count() == 7


def test_reupload_of_the_same_doc_numbers_in_the_same_month_is_not_a_duplicate(dept_report, upload, reporter):
    upload(dept_report, LICENSE, license_file(5), user=reporter)
    second = upload(dept_report, LICENSE, license_file(5, content="更正后的许可内容"), user=reporter)
    assert second.status == ImportBatch.Status.SUCCEEDED, second.errors
    assert second.replaced_rows == 5
    assert {r.data["content"] for r in stored(dept_report)} == {"更正后的许可内容"}


def test_identical_file_twice_is_counted_once(dept_report, upload, reporter):
    content = license_file(4)
    first = upload(dept_report, LICENSE, content, user=reporter)
    second = upload(dept_report, LICENSE, content, name="再次上传.xlsx", user=reporter)
    assert first.status == ImportBatch.Status.SUCCEEDED
    assert second.status == ImportBatch.Status.DUPLICATE
    assert second.message == "该文件与当前已导入的文件完全相同（4 条），未重复计数。"
    assert second.imported_rows == 0
    assert stored(dept_report).count() == 4
    assert entry(dept_report).record_count == 4
    assert entry(dept_report).current_batch == first
    assert AuditEvent.objects.get(batch=second).action == AuditEvent.Action.IMPORT_DUPLICATE


def test_processing_a_finished_batch_again_changes_nothing(dept_report, upload, reporter):
    batch = upload(dept_report, LICENSE, license_file(4), user=reporter)
    again = imports.records_import(batch_id=batch.pk)
    assert again.status == ImportBatch.Status.SUCCEEDED
    assert stored(dept_report).count() == 4
    assert AuditEvent.objects.filter(batch=batch).count() == 1


def test_a_count_category_takes_no_upload(dept_report):
    county_report = services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=period())
    category = Category.objects.get(code="gov_dishonesty_unresolved")
    with pytest.raises(services.ServiceError, match="是数量类别，请直接填写数量"):
        imports.batch_create(report=county_report, category=category, fileobj=io.BytesIO(),
                              name="x.xlsx", user=None)
    assert not ImportBatch.objects.exists()


def test_a_category_outside_the_units_kind_takes_no_upload(dept_report):
    category = Category.objects.get(code="credit_commitment")  # counties and parks only
    with pytest.raises(services.ServiceError, match="类别“信用承诺书”不适用于市审批局"):
        imports.batch_create(report=dept_report, category=category, fileobj=io.BytesIO(),
                              name="x.xlsx", user=None)


# --- 文书号 across months and units --------------------------------------------------


def test_doc_number_stored_in_another_month_is_an_error(dept_report, upload, reporter):
    _another_month_is_an_error(dept_report, upload, reporter)


@pytest.mark.django_db(transaction=True)  # the per-block lookup reads committed rows over its own connection
def test_doc_number_stored_in_another_month_is_an_error_when_looked_up_block_by_block(
    dept_report, upload, reporter, monkeypatch
):
    # A unit with a long history is asked block by block instead of loading every stored 文书号.
    monkeypatch.setattr(imports._StoredDocNumbers, "LOAD_ALL_BELOW", 0)
    _another_month_is_an_error(dept_report, upload, reporter)


def _another_month_is_an_error(dept_report, upload, reporter):
    july = services.report_get_or_create(unit=dept_report.unit, period=period(month=7))
    assert upload(july, LICENSE, license_file(3), user=reporter).status == ImportBatch.Status.SUCCEEDED
    batch = upload(dept_report, LICENSE, license_file(3, start=2), user=reporter)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.errors == [{
        "row": 2, "column": "行政许可决定文书号",
        "message": "文书号“营测〔2019〕2号”已在本单位本类别的其他月份报送过，不能重复报送",
    }]
    assert stored(dept_report).count() == 0


def test_same_doc_number_in_another_unit_or_category_is_fine(dept_report, upload, reporter):
    upload(dept_report, LICENSE, license_file(3), user=reporter)
    other = services.report_get_or_create(unit=Unit.objects.get(code="D02"), period=period())
    batch = upload(other, LICENSE, license_file(3))
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    penalty = upload(dept_report, "admin_penalty", xlsx_bytes("penalty", records("penalty", 3)), user=reporter)
    assert penalty.status == ImportBatch.Status.SUCCEEDED, penalty.errors
    assert Record.objects.filter(doc_number="营测〔2019〕0号").count() == 3


# --- the original file, audit, first upload --------------------------------------------


def test_original_file_is_kept_with_its_digest(dept_report, upload, reporter):
    content = license_file(2)
    batch = upload(dept_report, LICENSE, content, name="八月许可.xlsx", user=reporter)
    assert batch.original_name == "八月许可.xlsx"
    assert batch.size == len(content)
    assert batch.sha256 == hashlib.sha256(content).hexdigest()
    assert os.path.exists(batch.file.path)
    with batch.file.open("rb") as f:
        assert f.read() == content


def test_refused_and_failed_files_are_kept_too(dept_report, upload):
    refused = upload(dept_report, LICENSE, b"%PDF-1.7", name="错的.xlsx")
    failed = upload(dept_report, LICENSE, license_file(2, status="x"))
    for batch in (refused, failed):
        assert os.path.exists(batch.file.path)
        assert batch.finished_at is not None
        assert batch.progress == 100


def test_every_import_is_audited(dept_report, upload, reporter):
    good = upload(dept_report, LICENSE, license_file(5), name="许可.xlsx", user=reporter)
    bad = upload(dept_report, LICENSE, license_file(2, status="x"), name="有错.xlsx", user=reporter)
    replaced = upload(dept_report, LICENSE, license_file(3, start=10), name="更正.xlsx", user=reporter)
    events = {e.batch_id: e for e in AuditEvent.objects.filter(report=dept_report, batch__isnull=False)}
    assert len(events) == 3

    first = events[good.pk]
    assert (first.actor, first.action, first.category.code) == (reporter, AuditEvent.Action.IMPORTED, LICENSE)
    assert first.message == "许可.xlsx：成功导入 5 条记录。"
    assert first.details == {"file": "许可.xlsx", "sha256": good.sha256, "rows": 5, "total_rows": 5, "errors": 0,
                             "replaced": 0, "mode": "replace", "sheet": ""}

    failed = events[bad.pk]
    assert failed.action == AuditEvent.Action.IMPORT_FAILED
    assert (failed.details["rows"], failed.details["errors"], failed.details["file"]) == (0, 2, "有错.xlsx")

    last = events[replaced.pk]
    assert (last.details["rows"], last.details["replaced"]) == (3, 5)
    assert last.actor == reporter


def test_cli_imports_are_audited_without_an_actor(dept_report, upload):
    batch = upload(dept_report, LICENSE, license_file(1))
    event = AuditEvent.objects.get(batch=batch)
    assert event.actor is None
    assert event.details["rows"] == 1


def test_first_upload_of_a_category_in_a_month_is_flagged(dept_report, upload, reporter):
    first = upload(dept_report, LICENSE, license_file(2, status="x"), user=reporter)
    second = upload(dept_report, LICENSE, license_file(2), user=reporter)
    penalty = upload(dept_report, "admin_penalty", xlsx_bytes("penalty", records("penalty", 1)), user=reporter)
    july = services.report_get_or_create(unit=dept_report.unit, period=period(month=7))
    other_month = upload(july, LICENSE, license_file(1, start=50), user=reporter)
    assert [b.is_first_upload for b in (first, second, penalty, other_month)] == [True, False, True, True]
    assert ImportBatch.objects.get(pk=first.pk).is_first_upload is True


# --- normalisation in the stored data ---------------------------------------------------


def test_full_width_codes_are_stored_normalised(dept_report, upload, reporter):
    def full_width(text):
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)

    code = uscc(7)
    rows = records("license", 1, credit_code=full_width(code.lower()), authority_code="９１１１ ００００ ６０００３７３４１ｌ")
    rows.append(dict(records("license", 1, start=1)[0], subject_type="自然人", credit_code="", id_type="居民身份证",
                     id_number="１１０１０５１９４９１２３１００２ｘ"))
    batch = upload(dept_report, LICENSE, xlsx_bytes("license", rows), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    company, person = stored(dept_report).order_by("row_number")
    assert company.credit_code == code
    assert company.data["credit_code"] == code
    assert company.data["authority_code"] == "91110000600037341L"
    assert person.id_number == "11010519491231002X"
    assert person.data["id_number"] == "11010519491231002X"
    assert company.record_date == datetime.date(2019, 8, 5)


def test_stored_records_carry_unit_category_and_row(dept_report, upload, reporter):
    batch = upload(dept_report, LICENSE, csv_bytes("license", records("license", 2)), name="许可.csv", user=reporter)
    record = stored(dept_report).order_by("row_number").first()
    assert (record.unit, record.category.code, record.batch, record.row_number) == (dept_report.unit, LICENSE, batch, 2)
    assert record.doc_number == "营测〔2019〕0号"
    assert record.data["valid_to"] == "2024-08-04"


def test_doc_number_stored_by_a_concurrent_upload_refuses_the_batch(dept_report, upload, reporter, monkeypatch):
    """Two months uploaded at once both pass validation; the unique constraint decides, cleanly."""
    july = services.report_get_or_create(unit=dept_report.unit, period=period(month=7))
    real_open = imports._file_open

    def open_then_lose_the_race(**kwargs):
        opened = real_open(**kwargs)  # the stored 文书号 are read here, before July's upload lands
        if kwargs["batch"].report == dept_report:
            monkeypatch.setattr(imports, "_file_open", real_open)
            assert upload(july, LICENSE, license_file(1), user=reporter).status == ImportBatch.Status.SUCCEEDED
        return opened

    monkeypatch.setattr(imports, "_file_open", open_then_lose_the_race)
    batch = upload(dept_report, LICENSE, license_file(3), user=reporter)
    assert batch.status == ImportBatch.Status.REFUSED
    assert "文书号与同时导入的其他文件重复" in batch.message
    assert stored(dept_report).count() == 0
    assert entry(dept_report).record_count == 0
    assert AuditEvent.objects.get(batch=batch).action == AuditEvent.Action.IMPORT_REFUSED


def test_xlsx_with_real_dates_and_a_header_below_blank_rows_reports_excel_row_numbers(dept_report, upload, reporter):
    """Dates typed as Excel dates, serial numbers and text; the table starts in C3 under two empty rows."""
    import openpyxl

    from reporting.schemas import SCHEMAS

    keys = [f.key for f in SCHEMAS["activity"].fields]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([])
    sheet.append([])
    sheet.append(["", ""] + [f.header for f in SCHEMAS["activity"].fields])
    dates = [datetime.datetime(2019, 8, 5), datetime.date(2019, 8, 6), 43684, "2019年8月8日", "2019-02-30"]
    for n, date in enumerate(dates):
        row = records("activity", 1, start=n, title=f"活动{n}", date=date)[0]
        sheet.append(["", ""] + [row[k] for k in keys])
    out = io.BytesIO()
    workbook.save(out)
    batch = upload(dept_report, "integrity_campaign", out.getvalue(), user=reporter, keep_valid_rows=True)
    assert batch.errors == [{"row": 8, "column": "日期", "message": "“2019-02-30”不是有效日期（月份或日期超出范围）"}]
    stored_dates = list(
        Record.objects.filter(report=dept_report).order_by("row_number").values_list("row_number", "record_date")
    )
    assert stored_dates == [
        (4, datetime.date(2019, 8, 5)), (5, datetime.date(2019, 8, 6)),
        (6, datetime.date(2019, 8, 7)), (7, datetime.date(2019, 8, 8)),
    ]


def test_identical_file_already_imported_for_another_month_is_not_counted_again(users, upload):
    from reporting import services
    from reporting.models import ImportBatch, Record, Unit

    from .factories import period, records, xlsx_bytes

    unit = Unit.objects.get(code="D09")
    content = xlsx_bytes("activity", records("activity", 4))
    july = services.report_get_or_create(unit=unit, period=period(2019, 7))
    august = services.report_get_or_create(unit=unit, period=period(2019, 8))
    assert upload(july, "integrity_campaign", content).status == ImportBatch.Status.SUCCEEDED
    second = upload(august, "integrity_campaign", content)
    assert second.status == ImportBatch.Status.DUPLICATE
    assert "2019年7月" in second.message
    assert Record.objects.filter(unit=unit, category__code="integrity_campaign").count() == 4


def test_text_with_tabs_newlines_and_backslashes_is_stored_exactly(users, upload):
    """COPY's text format escapes these; the stored record must read back unchanged (a tab in a one-line
    field such as a name is folded to a space on import; long text keeps it)."""
    from reporting import services
    from reporting.models import ImportBatch, Record, Unit

    from .factories import period, records, xlsx_bytes

    report = services.report_get_or_create(unit=Unit.objects.get(code="D10"), period=period())
    tricky = "第一行\n第二行\t制表符 C:\\路径\\文件 \\N 结束"
    rows = records("license", 2, subject_name="某某\t公司\\分公司", content=tricky)
    batch = upload(report, "admin_license", xlsx_bytes("license", rows))
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.errors
    stored = list(Record.objects.filter(report=report).order_by("row_number"))
    assert [r.data["content"] for r in stored] == [tricky, tricky]
    assert stored[0].subject_name == "某某 公司\\分公司"
