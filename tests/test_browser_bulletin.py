"""The bulletin in a real browser: the office creates an issue, composes an article, generates the
情况通报, publishes, and sees the published issue; a unit's reporter then reads it.

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse
the ORM calls of the fixtures; allowing it is safe here, and only here.
Set BROWSER_SCREENSHOTS=<dir> to keep a screenshot of each page.
"""

import os
from pathlib import Path

import pytest

from rankings.services import stats_rebuild

from . import stats_dataset as data
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
    stats_rebuild()


# The browser comes last: started before the database fixtures, its event loop would hold on
# to a connection that the test database's teardown then finds still open (PostgreSQL).
def test_office_composes_generates_publishes_and_everyone_reads_it(live_server, seeded, browser):
    from playwright.sync_api import expect

    page = new_page(browser, timeout=20_000)
    log_in(page, live_server.url, "office", "/bulletins/")
    page.get_by_role("link", name="新建一期").click()
    page.wait_for_url("**/bulletins/new/")
    page.fill("#id_year", "2019")
    page.fill("#id_number", "5")
    page.fill("#id_issue_date", "2019-09-15")
    page.get_by_role("button", name="创建").click()
    page.wait_for_url("**/bulletins/2019/5/edit/")
    expect(page.locator(".alert-success")).to_contain_text("已创建〔2019〕第5期")

    # Compose an article in 工作推进.
    page.locator("#add-progress").click()
    page.wait_for_url("**/articles/new/?section=progress")
    expect(page.locator("#id_section")).to_have_value("progress")
    page.fill("#id_title", "市信用办召开全市信用信息平台数据报送\n暨城市信用监测排名工作培训会议")
    page.fill("#id_body", "9月6日上午，市信用办组织全市各县（市）区、园区\n各有关部门190余人召开培训会议。\n\n会议强调，各单位要高度重视信息采集上报工作。")
    page.fill("#id_source", "市信用办")
    page.locator("#save-article").click()
    page.wait_for_url("**/bulletins/2019/5/edit/#article-*")
    expect(page.locator("#sec-progress .article-title")).to_have_text(
        "市信用办召开全市信用信息平台数据报送暨城市信用监测排名工作培训会议")

    # Generate the 情况通报 for the proposed range (January to the last accepted month).
    expect(page.locator("#gen-year")).to_have_value("2019")
    expect(page.locator("#gen-through")).to_have_value("3")
    page.locator("#generate-button").click()
    page.wait_for_url("**/edit/#sec-status")
    expect(page.locator(".alert-success")).to_contain_text("已根据2019年1—3月的统计数据生成情况通报和统计表")
    expect(page.locator("#sec-status .composer-article.generated")).to_contain_text("信用承诺书签订量最多的是鲅鱼圈和大石桥市")
    snap(page, "bulletin-edit")

    # Preview, then publish with confirmation.
    page.locator("#preview").click()
    page.wait_for_url("**/bulletins/2019/5/")
    expect(page.locator("#bulletin-status")).to_have_text("草稿 · 预览")
    page.goto(live_server.url + "/bulletins/2019/5/edit/")
    page.locator("#publish").click()
    page.wait_for_url("**/publish/")
    expect(page.locator("#confirm-publish")).to_contain_text("冻结")
    page.locator("#confirm-publish-button").click()
    page.wait_for_url("**/bulletins/2019/5/")

    expect(page.locator("#bulletin-status")).to_have_text("已发布")
    expect(page.locator("#issue-label")).to_have_text("〔2019〕第5期")
    expect(page.locator("#sec-progress .art-source")).to_have_text("（市信用办）")
    expect(page.locator("#sec-status .art-title")).to_have_text("全市各信源单位信用信息数据上报情况")
    expect(page.locator('#table-county_park tr[data-unit="C01"] td').nth(1)).to_have_text("4")  # 信用承诺书
    expect(page.locator('#table-department tr.row-total td').last).to_have_text("21")  # 总计
    expect(page.get_by_role("link", name="返回编辑")).to_have_count(0)
    snap(page, "bulletin-published")

    # The editor is gone for a published issue.
    page.goto(live_server.url + "/bulletins/2019/5/edit/")
    page.wait_for_url("**/bulletins/2019/5/")
    expect(page.locator(".alert-info")).to_contain_text("已发布，不能再修改")

    with page.expect_download() as download:
        page.locator("#download-docx").click()
    assert download.value.suggested_filename == "营口信用体系建设工作简报2019年第5期.docx"
    assert Path(download.value.path()).read_bytes().startswith(b"PK")  # waits for the whole file

    # A unit's reporter finds it in the archive.
    reader = new_page(browser, timeout=20_000)
    log_in(reader, live_server.url, "d01", "/bulletins/")
    expect(reader.locator("#drafts")).to_have_count(0)
    reader.get_by_role("link", name="营口信用体系建设工作简报〔2019〕第5期").click()
    reader.wait_for_url("**/bulletins/2019/5/")
    expect(reader.locator(".mast-sub")).to_have_text("工作简报")
