"""The month page and its actions through the browser's doors: upload, count, nil, submit, review, records."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from reporting import imports, services
from reporting.models import AuditEvent, Category, ImportBatch, Record, ReportEntry, ReportStatus, Unit

from .factories import csv_bytes, period, record, records, resident_id, xlsx_bytes

pytestmark = pytest.mark.django_db

AUG = "2019-08"
BAD_CODE = "91110000600037341A"  # wrong check character


def open_for_editing(report):
    """2019-08 is long past its lock day: the office lets the unit edit it for a month."""
    until = timezone.localdate() + datetime.timedelta(days=30)
    return services.report_grant_exception(report=report, user=None, until=until)


@pytest.fixture
def report(dept_report):
    return open_for_editing(dept_report)


@pytest.fixture
def county_report(users):
    report = services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=period())
    return open_for_editing(report)


@pytest.fixture
def dept_client(client, users):
    client.force_login(users["dept"])
    return client


def url(name, *args, unit="D01", month=AUG):
    return reverse(name, args=[unit, month, *args])


def post_upload(client, content, name="许可.xlsx", category="admin_license", unit="D01", mode=None):
    data = {"file": SimpleUploadedFile(name, content)}
    if mode:
        data["mode"] = mode
    return client.post(url("report_upload", category, unit=unit), data)


def bad_rows():
    """Rows 2 and 4 are good; row 3 has a bad credit code and no 许可内容."""
    return [record("license", 0), record("license", 1, credit_code=BAD_CODE, content=""), record("license", 2)]


def page_text(response):
    return response.content.decode()


# --- the month page ---------------------------------------------------------------


def test_month_page_lists_the_units_categories_with_template_links(dept_client, report):
    response = dept_client.get(report.get_absolute_url())
    text = page_text(response)
    assert response.status_code == 200
    assert "市行政审批局" in text and "2019年8月" in text
    assert "行政许可" in text and "营商环境建设" in text
    assert reverse("category_template", args=["admin_license"]) in text
    assert "信用承诺书" not in text  # a county/park category


def test_visiting_a_past_month_shows_its_draft_without_creating_it(dept_client, users):
    response = dept_client.get(url("report_detail", month="2019-03"))
    assert response.status_code == 200
    assert "填报中" in page_text(response)
    assert "行政许可" in page_text(response) and "营商环境建设" in page_text(response)
    assert not users["dept"].unit.reports.filter(period=datetime.date(2019, 3, 1)).exists()


def test_month_page_says_why_a_locked_month_cannot_be_edited(dept_client, dept_report):
    text = page_text(dept_client.get(dept_report.get_absolute_url()))
    assert "已过锁定日" in text
    assert 'name="file"' not in text


# --- uploads ------------------------------------------------------------------------


def test_good_upload_stores_records_and_month_page_shows_the_count(dept_client, report):
    response = post_upload(dept_client, xlsx_bytes("license", records("license", 3)))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("batch_detail", args=[batch.pk])
    assert batch.status == ImportBatch.Status.SUCCEEDED
    assert Record.objects.filter(report=report).count() == 3

    text = page_text(dept_client.get(response["Location"]))
    assert "成功导入 3 条记录" in text

    text = page_text(dept_client.get(report.get_absolute_url()))
    assert '<span class="fw-semibold">3</span> 条' in text
    assert "许可.xlsx" in text


def test_csv_upload_in_gb18030_is_accepted(dept_client, report):
    post_upload(dept_client, csv_bytes("license", records("license", 2), encoding="gb18030"), name="许可.csv")
    assert ImportBatch.objects.get().status == ImportBatch.Status.SUCCEEDED
    assert Record.objects.count() == 2


def test_upload_with_bad_rows_lists_every_error_and_stores_nothing(dept_client, report):
    response = post_upload(dept_client, xlsx_bytes("license", bad_rows()))
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED
    assert Record.objects.count() == 0

    text = page_text(dept_client.get(response["Location"]))
    assert "本次未导入任何数据" in text
    assert "第 3 行" in text
    assert "统一社会信用代码" in text and "校验位错误" in text
    assert "许可内容" in text and "必填项不能为空" in text
    assert reverse("batch_errors", args=[batch.pk]) in text
    assert "仅导入正确的 2 行" in text


def test_error_report_downloads_as_an_xlsx_with_the_reasons(dept_client, report):
    post_upload(dept_client, xlsx_bytes("license", bad_rows()))
    batch = ImportBatch.objects.get()
    response = dept_client.get(reverse("batch_errors", args=[batch.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [str(c) for row in workbook.active.iter_rows(values_only=True) for c in row if c is not None]
    assert any("校验位错误" in c for c in cells)


def test_original_file_downloads_under_its_name(dept_client, report):
    content = xlsx_bytes("license", records("license", 1))
    post_upload(dept_client, content)
    response = dept_client.get(reverse("batch_file", args=[ImportBatch.objects.get().pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert "filename*=utf-8''%E8%AE%B8%E5%8F%AF.xlsx" in response["Content-Disposition"]


def test_keep_valid_rows_is_an_explicit_new_import_of_the_same_file(dept_client, report):
    post_upload(dept_client, xlsx_bytes("license", bad_rows()))
    failed = ImportBatch.objects.get()

    response = dept_client.post(reverse("batch_keep_valid", args=[failed.pk]))

    kept = ImportBatch.objects.exclude(pk=failed.pk).get()
    assert response["Location"] == reverse("batch_detail", args=[kept.pk])
    assert kept.keep_valid_rows is True
    assert kept.status == ImportBatch.Status.SUCCEEDED
    assert kept.sha256 == failed.sha256
    assert sorted(Record.objects.values_list("row_number", flat=True)) == [2, 4]
    failed.refresh_from_db()
    assert failed.status == ImportBatch.Status.FAILED
    assert "已按您的选择仅导入正确的行" in page_text(dept_client.get(response["Location"]))


def test_keep_valid_is_refused_for_a_batch_that_did_not_fail(dept_client, report):
    post_upload(dept_client, xlsx_bytes("license", records("license", 2)))
    batch = ImportBatch.objects.get()
    response = dept_client.post(reverse("batch_keep_valid", args=[batch.pk]), follow=True)
    assert ImportBatch.objects.count() == 1
    assert "只有校验未通过且含有正确行的导入" in page_text(response)


def test_reupload_replaces_the_categorys_rows(dept_client, report):
    post_upload(dept_client, xlsx_bytes("license", records("license", 3)))
    post_upload(dept_client, xlsx_bytes("license", records("license", 2, start=10)), mode="replace")
    assert Record.objects.count() == 2
    assert ReportEntry.objects.get(report=report, category__code="admin_license").record_count == 2


@pytest.mark.parametrize(
    "name,message",
    [
        ("许可.xls", "不支持旧版 Excel（.xls）文件"),
        ("许可.txt", "只接受 .xlsx（Excel 工作簿）或 .csv 文件"),
    ],
)
def test_upload_form_refuses_other_file_types(dept_client, report, name, message):
    response = post_upload(dept_client, b"whatever", name=name)
    assert response.status_code == 302
    assert message in page_text(dept_client.get(response["Location"]))
    assert not ImportBatch.objects.exists()


def test_upload_form_refuses_files_over_the_limit(dept_client, report, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = post_upload(dept_client, xlsx_bytes("license", records("license", 1)))
    assert "文件过大" in page_text(dept_client.get(response["Location"]))
    assert not ImportBatch.objects.exists()


def test_upload_without_a_file_says_so(dept_client, report):
    response = dept_client.post(url("report_upload", "admin_license"), follow=True)
    assert "请选择要上传的文件" in page_text(response)


def test_disguised_file_is_refused_with_a_clear_message(dept_client, report):
    response = post_upload(dept_client, b"%PDF-1.4 not a workbook")
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.REFUSED
    assert "不是 Excel 工作簿" in page_text(dept_client.get(response["Location"]))


def test_upload_into_a_locked_month_is_refused(dept_client, dept_report):
    response = post_upload(dept_client, xlsx_bytes("license", records("license", 1)))
    assert "已过锁定日" in page_text(dept_client.get(response["Location"]))
    assert not ImportBatch.objects.exists()


def test_template_download_is_the_categorys_workbook(dept_client, report):
    response = dept_client.get(reverse("category_template", args=["admin_license"]))
    assert response.status_code == 200
    assert "filename*=utf-8''" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    headers = [str(c.value) for c in next(workbook.active.iter_rows(max_row=1))]
    assert any("行政相对人名称" in h for h in headers)


def test_count_category_has_no_template(dept_client, report):
    assert dept_client.get(reverse("category_template", args=["gov_dishonesty_unresolved"])).status_code == 404


# --- the progress bar ------------------------------------------------------------------


def test_pending_batch_shows_a_polling_progress_bar_until_it_finishes(dept_client, report, users):
    with io.BytesIO(xlsx_bytes("license", records("license", 1))) as f:
        batch = imports.batch_create(
            report=report,
            category=Category.objects.get(code="admin_license"),
            fileobj=f,
            name="大文件.xlsx",
            user=users["dept"],
        )
    text = page_text(dept_client.get(reverse("batch_detail", args=[batch.pk])))
    assert 'hx-trigger="every 1s"' in text and "progress-bar" in text

    partial = dept_client.get(reverse("batch_progress", args=[batch.pk]))
    assert "progress-bar" in page_text(partial)
    assert "HX-Refresh" not in partial

    imports.records_import(batch_id=batch.pk)
    finished = dept_client.get(reverse("batch_progress", args=[batch.pk]))
    assert finished["HX-Refresh"] == "true"


# --- counts, nil, submit ------------------------------------------------------------------


def test_count_is_saved_and_shown(client, users, county_report):
    client.force_login(users["county"])
    response = client.post(url("report_count", "gov_dishonesty_unresolved", unit="C01"), {"count": "7"}, follow=True)
    entry = county_report.entries.get(category__code="gov_dishonesty_unresolved")
    assert entry.count == 7
    assert "已保存“政府失信未治理”本月数量：7" in page_text(response)


def test_negative_count_is_refused(client, users, county_report):
    client.force_login(users["county"])
    response = client.post(url("report_count", "gov_dishonesty_unresolved", unit="C01"), {"count": "-1"}, follow=True)
    assert "数量不能为负数" in page_text(response)
    assert county_report.entries.get(category__code="gov_dishonesty_unresolved").count is None


def test_nil_declaration_marks_the_category(dept_client, report):
    response = dept_client.post(url("report_nil", "admin_penalty"), follow=True)
    assert report.entries.get(category__code="admin_penalty").is_nil is True
    assert "已声明“行政处罚”本月无数据" in page_text(response)


def test_nil_is_refused_for_a_category_with_records(dept_client, report):
    post_upload(dept_client, xlsx_bytes("license", records("license", 1)))
    response = dept_client.post(url("report_nil", "admin_license"), follow=True)
    assert "不能声明本月无数据" in page_text(response)
    assert report.entries.get(category__code="admin_license").is_nil is False


def test_submit_with_untouched_categories_asks_for_confirmation_first(dept_client, report):
    post_upload(dept_client, xlsx_bytes("license", records("license", 1)))

    response = dept_client.post(url("report_submit"))

    text = page_text(response)
    assert response.status_code == 200
    assert "确认提交" in text and "行政处罚" in text and 'name="confirm_nil" value="1"' in text
    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT
    assert not report.entries.filter(is_nil=True).exists()


def test_confirmed_submit_declares_untouched_categories_nil(dept_client, report):
    post_upload(dept_client, xlsx_bytes("license", records("license", 1)))

    response = dept_client.post(url("report_submit"), {"confirm_nil": "1"}, follow=True)

    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED
    assert report.on_time is False  # 2019-08 was due on 2019-09-05
    entries = report.entries.select_related("category")
    assert all(e.is_nil for e in entries if e.category.code != "admin_license")
    assert not entries.get(category__code="admin_license").is_nil
    assert "已提交" in page_text(response)


def test_submit_with_everything_filled_still_says_what_gets_locked_first(client, users, county_report):
    for entry in county_report.entries.select_related("category"):
        services.nil_declare(report=county_report, category=entry.category, user=None)
    client.force_login(users["county"])
    response = client.post(url("report_submit", unit="C01"))
    assert "提交后本月数据将锁定" in page_text(response)
    county_report.refresh_from_db()
    assert county_report.status == ReportStatus.DRAFT

    client.post(url("report_submit", unit="C01"), {"confirm_nil": "1"})
    county_report.refresh_from_db()
    assert county_report.status == ReportStatus.SUBMITTED


def test_submitted_month_takes_no_more_uploads(dept_client, report):
    services.report_submit(report=report, user=None, confirm_nil=True)
    response = post_upload(dept_client, xlsx_bytes("license", records("license", 1)))
    assert "不能修改数据" in page_text(dept_client.get(response["Location"]))
    assert not ImportBatch.objects.exists()


# --- the office's review ------------------------------------------------------------------


@pytest.fixture
def office_client(client, users):
    client.force_login(users["office"])
    return client


@pytest.fixture
def submitted(report):
    return services.report_submit(report=report, user=None, confirm_nil=True)


def test_office_accepts_a_submitted_report(office_client, submitted, users):
    response = office_client.post(url("report_review"), {"action": "accept"}, follow=True)
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.ACCEPTED
    assert submitted.reviewed_by == users["office"]
    assert "已审核通过" in page_text(response)


def test_return_needs_a_reason(office_client, submitted):
    response = office_client.post(url("report_review"), {"action": "return", "reason": "  "}, follow=True)
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.SUBMITTED
    assert "必须填写原因" in page_text(response)


def test_returned_report_shows_its_reason_to_the_unit(office_client, submitted, users, client):
    office_client.post(url("report_review"), {"action": "return", "reason": "行政许可少报了 3 条"})
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.RETURNED

    client.force_login(users["dept"])
    assert "行政许可少报了 3 条" in page_text(client.get(submitted.get_absolute_url()))
    home = page_text(client.get(reverse("home") + "?year=2019"))
    assert "被退回的报表" in home and "行政许可少报了 3 条" in home


def test_office_reopens_an_accepted_month_with_a_reason(office_client, submitted, users):
    services.report_accept(report=submitted, user=users["office"])
    office_client.post(url("report_review"), {"action": "reopen", "reason": "补报遗漏的许可"})
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.RETURNED
    assert submitted.return_reason == "补报遗漏的许可"
    event = AuditEvent.objects.filter(report=submitted, action=AuditEvent.Action.REOPENED).get()
    assert event.actor == users["office"]


def test_accepting_twice_is_refused_politely(office_client, submitted, users):
    services.report_accept(report=submitted, user=users["office"])
    response = office_client.post(url("report_review"), {"action": "accept"}, follow=True)
    assert "不能执行此操作" in page_text(response)


def test_audit_trail_is_on_the_month_page(office_client, submitted):
    text = page_text(office_client.get(submitted.get_absolute_url()))
    assert "操作记录" in text and "提交" in text and "审核通过" in text


# --- the record browser ------------------------------------------------------------------


def person_row(n):
    return record(
        "license",
        n,
        subject_name=f"张{n}",
        subject_type="自然人",
        credit_code="",
        legal_rep="",
        id_type="居民身份证",
        id_number=resident_id(n),
    )


def test_record_browser_masks_id_numbers_for_unit_staff_only(dept_client, report, users, client):
    post_upload(dept_client, xlsx_bytes("license", [person_row(1)]))
    assert Record.objects.count() == 1
    full = resident_id(1)
    masked = full[:6] + "********" + full[-4:]

    text = page_text(dept_client.get(url("report_records", "admin_license")))
    assert masked in text
    assert full not in text

    client.force_login(users["office"])
    text = page_text(client.get(url("report_records", "admin_license")))
    assert full in text


def test_record_browser_searches_and_pages(dept_client, report):
    rows = records("license", 60) + [record("license", 99, subject_name="营口特别商行")]
    post_upload(dept_client, xlsx_bytes("license", rows))
    browser = url("report_records", "admin_license")

    first = page_text(dept_client.get(browser))
    assert "共 61 条" in first and "1 / 2" in first
    second = dept_client.get(browser, {"page": 2})
    assert len(second.context["rows"]) == 11

    found = dept_client.get(browser, {"q": "特别商行"})
    assert [r.subject_name for r, _ in found.context["rows"]] == ["营口特别商行"]
    by_doc = dept_client.get(browser, {"q": "营测〔2019〕5号"})
    assert [r.doc_number for r, _ in by_doc.context["rows"]] == ["营测〔2019〕5号"]


# --- homes, queue, overview ------------------------------------------------------------------


def test_unit_home_shows_twelve_months_and_what_is_due(dept_client, submitted):
    response = dept_client.get(reverse("home"), {"year": 2019})
    text = page_text(response)
    assert len(response.context["months"]) == 12
    assert "2019年报送情况" in text
    assert submitted.get_absolute_url() in text
    assert "待报送" in text


def test_office_home_is_the_review_queue(office_client):
    response = office_client.get(reverse("home"))
    assert response["Location"] == reverse("review_queue")


def test_review_queue_shows_submitted_reports_by_default(office_client, submitted, county_report):
    response = office_client.get(reverse("review_queue"))
    assert [r.unit.code for r in response.context["page"]] == ["D01"]
    everything = office_client.get(reverse("review_queue"), {"status": ""})
    assert {r.unit.code for r in everything.context["page"]} == {"D01", "C01"}


def test_review_queue_filters_by_kind_and_month(office_client, submitted, county_report):
    counties = office_client.get(reverse("review_queue"), {"status": "", "kind": "county"})
    assert [r.unit.code for r in counties.context["page"]] == ["C01"]
    other_month = office_client.get(reverse("review_queue"), {"status": "", "month": "2019-07"})
    assert list(other_month.context["page"]) == []
    bad = office_client.get(reverse("review_queue"), {"month": "2019-7x"})
    assert "月份格式应为 YYYY-MM" in page_text(bad)


def test_month_overview_counts_every_unit_by_state(office_client, submitted, county_report):
    response = office_client.get(reverse("month_overview", args=[AUG]))
    totals = {code: n for code, _, _, n in response.context["totals"]}
    assert totals["submitted"] == 1
    assert totals["draft"] == 1
    assert totals["missing"] == 61
    assert totals["late"] == 63  # 2019-08 was due 2019-09-05: D01 sent it late, the rest never
    labels = [label for label, _ in response.context["groups"]]
    assert labels == ["县（市）区", "园区", "市有关部门"]
    assert sum(len(rows) for _, rows in response.context["groups"]) == 63


def test_month_overview_month_picker_redirects_to_the_month(office_client):
    response = office_client.get(reverse("month_overview"), {"month": "2019-08"})
    assert response["Location"] == reverse("month_overview", args=[AUG])
