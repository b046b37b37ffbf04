"""The monthly cycle in a real browser: a reporter uploads and submits, the office accepts; the fixed rows of
a kept-valid upload go back as an append.

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse
the ORM calls of the fixtures; allowing it is safe here, and only here.
Set BROWSER_SCREENSHOTS=<dir> to keep a screenshot of each step.
"""

import datetime
import os

import openpyxl
import pytest

from reporting import services
from reporting.models import MonthlyReport, Record, ReportStatus, Unit

from .browser import chromium, log_in, new_page, snap
from .factories import record, records, xlsx_bytes

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def page():
    with chromium() as browser:
        yield new_page(browser, width=1366)


@pytest.fixture
def last_month(users):
    """D01's report for last month, opened for editing whatever today's date is."""
    today = datetime.date.today()
    period = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    report = services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period)
    return services.report_grant_exception(report=report, user=None, until=today + datetime.timedelta(days=30))


def upload(page, content, name):
    row = page.locator("#cat-admin_license")
    row.locator("input[name=file]").set_input_files(files=[{"name": name, "mimeType": XLSX, "buffer": content}])
    row.get_by_role("button", name="上传").click()
    page.wait_for_url("**/imports/*/")


def test_reporter_uploads_fixes_and_submits_then_office_accepts(page, live_server, last_month):
    from playwright.sync_api import expect

    base = live_server.url
    log_in(page, base, "d01")
    expect(page.locator(".navbar")).to_contain_text("市行政审批局")
    snap(page, "home")
    page.locator("#due-now").get_by_role("link", name="去填报").click()
    page.wait_for_url(f"**{last_month.get_absolute_url()}")
    expect(page.locator("h1")).to_contain_text(last_month.period_label)

    # The template: the data sheet first, headers of the license schema.
    with page.expect_download() as download_info:
        page.locator("#cat-admin_license").get_by_role("link", name="下载模板").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx") and "行政许可" in download.suggested_filename
    with open(download.path(), "rb") as f:
        workbook = openpyxl.load_workbook(f)
    headers = [str(c.value or "") for c in next(workbook.worksheets[0].iter_rows(max_row=1))]
    assert any("行政相对人名称" in h for h in headers)
    assert any("行政许可决定文书号" in h for h in headers)

    # A file with bad rows: every error listed, nothing stored.
    bad = [
        record("license", 0),
        record("license", 1, credit_code="91110000600037341A"),
        record("license", 2, decision_date="2019-02-30"),
    ]
    upload(page, xlsx_bytes("license", bad), "许可-有错.xlsx")
    expect(page.locator("#batch-status")).to_contain_text("校验未通过")
    errors = page.locator(".errors-table")
    expect(errors).to_contain_text("第 3 行")
    expect(errors).to_contain_text("统一社会信用代码校验位错误")
    expect(errors).to_contain_text("第 4 行")
    expect(errors).to_contain_text("许可决定日期")
    expect(page.locator("#keep-valid")).to_contain_text("仅导入正确的 1 行")
    snap(page, "batch-errors")
    assert Record.objects.count() == 0

    # The corrected file.
    page.get_by_role("link", name="返回月度报表").click()
    upload(page, xlsx_bytes("license", records("license", 3)), "许可-改正.xlsx")
    expect(page.locator("#batch-message")).to_contain_text("成功导入 3 条记录")
    page.get_by_role("link", name="返回月度报表").click()
    expect(page.locator("#cat-admin_license .entry-value")).to_contain_text("3 条")
    snap(page, "report")
    page.locator("#cat-admin_license").get_by_role("link", name="浏览记录").click()
    expect(page.locator(".records-table tbody tr")).to_have_count(3)
    snap(page, "records")
    page.go_back()

    # Submit: the untouched categories are listed for confirmation, then declared nil.
    page.click("#submit-report")
    expect(page.locator("#confirm-nil")).to_contain_text("行政处罚")
    snap(page, "confirm")
    page.click("#confirm-submit")
    expect(page.locator("#report-status")).to_contain_text("已提交")

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/accounts/login/")

    # The office accepts it from the review queue.
    log_in(page, base, "office")
    page.wait_for_url("**/office/queue/")
    row = page.locator("tr[data-unit=D01]")
    expect(row).to_contain_text(last_month.period_label)
    snap(page, "queue")
    row.get_by_role("link", name="审核").click()
    page.click("#accept-report")
    expect(page.locator("#report-status")).to_contain_text("已通过")
    snap(page, "accepted")

    last_month.refresh_from_db()
    assert last_month.status == ReportStatus.ACCEPTED
    assert MonthlyReport.objects.get(pk=last_month.pk).entries.filter(is_nil=True).count() == 15
    assert Record.objects.filter(report=last_month).count() == 3


def test_office_month_overview_renders(page, live_server, users):
    log_in(page, live_server.url, "office")
    page.wait_for_url("**/office/queue/")
    page.get_by_role("link", name="月度总览").click()
    page.wait_for_selector(".overview-totals")
    assert page.locator("tr[data-unit]").count() == 63
    # The vendored scripts load from static/vendor (no CDN on the intranet).
    assert page.evaluate("typeof htmx === 'object' && typeof bootstrap === 'object'")
    snap(page, "overview")


def _choose_file(page, content, name):
    row = page.locator("#cat-admin_license")
    row.locator("input[name=file]").set_input_files(files=[{"name": name, "mimeType": XLSX, "buffer": content}])
    return row


def test_keep_valid_rows_then_append_the_fixed_error_report(page, live_server, last_month, tmp_path):
    from playwright.sync_api import expect

    log_in(page, live_server.url, "d01", last_month.get_absolute_url())
    rows = records("license", 30)
    for n in (3, 9, 17, 25):
        rows[n] = record("license", n, credit_code="91110000600037341A")
    row = _choose_file(page, xlsx_bytes("license", rows), "许可-30行.xlsx")
    row.get_by_role("button", name="上传").click()
    page.wait_for_url("**/imports/*/")
    expect(page.locator("#batch-status")).to_contain_text("校验未通过")
    page.click("#keep-valid")
    expect(page.locator("#batch-message")).to_contain_text("成功导入 26 条记录")
    assert Record.objects.filter(report=last_month).count() == 26

    # The 错误报告 of the failed upload: fix the four codes in it and send it back as it is.
    page.go_back()
    with page.expect_download() as info:
        page.locator("#error-report-link").click()
    report_path = tmp_path / "错误报告.xlsx"
    info.value.save_as(report_path)
    book = openpyxl.load_workbook(report_path)
    sheet = book["错误报告"]
    assert "改正后如何上传" in book.sheetnames
    headers = [c.value for c in sheet[1]]
    code_column = next(i for i, h in enumerate(headers) if h and "统一社会信用代码" in str(h) and "机关" not in str(h)
                       and "来源" not in str(h)) + 1
    doc_column = next(i for i, h in enumerate(headers) if h and "文书号" in str(h)) + 1
    from .factories import uscc
    for line in range(2, sheet.max_row + 1):
        doc = sheet.cell(line, doc_column).value
        if doc:
            n = int(str(doc).split("〕")[1].rstrip("号"))
            sheet.cell(line, code_column).value = uscc(n)
    fixed = tmp_path / "错误报告-已改正.xlsx"
    book.save(fixed)
    snap(page, "error-report")

    page.goto(live_server.url + last_month.get_absolute_url())
    row = _choose_file(page, fixed.read_bytes(), "错误报告-已改正.xlsx")
    expect(row.locator(".upload-mode")).to_contain_text("已有 26 条")
    row.get_by_label("追加到已有记录").check()
    row.get_by_role("button", name="上传").click()
    page.wait_for_url("**/imports/*/")
    expect(page.locator("#batch-message")).to_contain_text("追加导入 4 条记录")
    expect(page.locator("#batch-message")).to_contain_text("本类别现共 30 条")
    snap(page, "appended")
    stored = sorted(Record.objects.filter(report=last_month).values_list("doc_number", flat=True))
    assert stored == sorted(r["doc_number"] for r in records("license", 30))
