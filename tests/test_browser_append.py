"""Keep the valid rows, fix the rest in the downloaded 错误报告, upload it as an append: every row is there.

Playwright's sync API runs an asyncio loop in this thread; allowing Django's ORM here is safe, and only here.
"""

import datetime
import os

import openpyxl
import pytest

from reporting import services
from reporting.models import Record, Unit

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
    today = datetime.date.today()
    period = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    report = services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period)
    return services.report_grant_exception(report=report, user=None, until=today + datetime.timedelta(days=30))


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
