"""The monthly cycle in a real browser: a reporter uploads and submits, the office accepts.

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
