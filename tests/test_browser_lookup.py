"""The credit lookup in a real browser: a unit granted 核查 searches by name, opens the subject's
credit profile (marks, masked ID numbers, every record), downloads the 信用报告, and runs a batch check.
The pages run under the Content-Security-Policy (no inline script or style).

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse
the ORM calls of the fixtures; allowing it is safe here, and only here.  The test itself makes no
ORM call once the browser runs: inside Playwright's event loop Django would open a second connection
that the test database's teardown then finds still open (PostgreSQL).
"""

import io
import os
import re
import subprocess

import openpyxl
import pytest

from lookup.models import LookupGrant
from reporting.models import Unit

from . import lookup_data as data
from .browser import chromium, log_in, new_page, snap

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def seeded(users, upload):
    data.build(upload)
    LookupGrant.objects.create(unit=Unit.objects.get(code="D02"), reason="招投标联合奖惩")


# The browser comes last (see test_browser_bulletin.py).
def test_search_profile_report_and_batch_check(live_server, seeded, browser, tmp_path):
    from playwright.sync_api import expect

    page = new_page(browser, timeout=20_000)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    log_in(page, live_server.url, "d02")
    page.get_by_role("link", name="信用查询").click()
    page.wait_for_url("**/lookup/")
    page.fill("#id_q", "市恒昌")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#lookup-results h2")).to_contain_text("找到 2 个主体")
    snap(page, "lookup-1-results")

    page.locator(".subject-hit", has_text=data.HENGCHANG).click()
    page.wait_for_url("**/lookup/subjects/*/")
    expect(page.locator("#subject-name")).to_have_text(data.HENGCHANG)
    expect(page.locator("#subject-marks")).to_contain_text("当前列入黑名单")
    expect(page.locator("#subject-marks")).to_contain_text("行政处罚公示期内 1 条")
    for doc in ("营审〔2019〕1号", "营罚〔2019〕1号", "营黑〔2019〕1号"):
        expect(page.locator("main")).to_contain_text(doc)
    snap(page, "lookup-2-profile")

    with page.expect_download() as info:
        page.locator("#report-pdf").click()
    download = info.value
    assert download.suggested_filename.startswith("信用报告-XYBG") and download.suggested_filename.endswith(".pdf")
    path = tmp_path / "report.pdf"
    download.save_as(path)
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                             check=True).stdout.decode())
    number = download.suggested_filename.removeprefix("信用报告-").removesuffix(".pdf")
    assert number in text and data.HENGCHANG in text and "列入黑名单；有行政处罚记录" in text

    with page.expect_download() as info:
        page.locator("#report-docx").click()
    assert info.value.suggested_filename.endswith(".docx")

    # A person: the unit sees the ID number masked.
    page.goto(live_server.url + "/lookup/")
    page.fill("#id_q", data.PERSON_ID)
    page.get_by_role("button", name="查询").click()
    page.locator(".subject-hit").first.click()
    page.wait_for_url("**/lookup/subjects/*/")
    expect(page.locator("#subject-identifier")).not_to_contain_text(data.PERSON_ID)
    expect(page.locator("#subject-marks")).to_contain_text("行政处罚公示期内 1 条")

    # Batch check: upload a list, wait for the job, download the result.
    book = openpyxl.Workbook()
    book.active.append(["名称", "统一社会信用代码"])
    book.active.append([data.HENGCHANG, data.HENGCHANG_CODE])
    book.active.append([data.JIANCAI, data.JIANCAI_CODE])
    listing = tmp_path / "名单.xlsx"
    book.save(listing)
    page.get_by_role("link", name="批量核查").click()
    page.wait_for_url("**/lookup/batch/")
    page.set_input_files("#id_file", str(listing))
    page.get_by_role("button", name="开始核查").click()
    page.wait_for_url("**/lookup/batch/*/")
    expect(page.locator("#batch-done")).to_contain_text("已核查 2 行")
    snap(page, "lookup-3-batch")
    with page.expect_download() as info:
        page.locator("#batch-download").click()
    result = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()), read_only=True).active
    verdicts = [row[4] for row in result.iter_rows(min_row=2, values_only=True)]
    assert verdicts == ["列入黑名单；有行政处罚记录", "无不良记录；列入红名单"]

    assert not violations, violations
