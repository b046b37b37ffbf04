"""The statistics tables in a real browser: the office opens a table, changes the range, drills into a cell.

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse
the ORM calls of the fixtures; allowing it is safe here, and only here.
Set BROWSER_SCREENSHOTS=<dir> to keep a screenshot of each page.
"""

import os

import pytest
from django.db import connections

from rankings.services import stats_rebuild

from . import stats_dataset as data
from .browser import chromium, log_in, new_page, snap

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def page():
    with chromium() as browser:
        yield new_page(browser)
        # A connection opened while Playwright's loop runs belongs to that context:
        # close it here, or PostgreSQL cannot drop the test database at the end.
        connections.close_all()


@pytest.fixture
def seeded(users, upload):
    data.build(upload)
    stats_rebuild()


def cell(page, unit, column):
    return page.locator(f'tr[data-unit="{unit}"] td a[href$="column={column}"]')


def test_office_opens_a_table_changes_the_range_and_drills_into_a_cell(seeded, live_server, page):
    from playwright.sync_api import expect

    log_in(page, live_server.url, "office", "/stats/")
    page.get_by_role("link", name="县（市）区、园区数据报送情况统计表").click()
    page.wait_for_url("**/stats/tables/county_park/**")

    # Default range: January to the last accepted month of the latest year with data.
    expect(page.locator("#stat-title")).to_have_text("2019年1—3月份各县（市）区、园区信源单位数据报送情况统计表")
    expect(cell(page, "C01", 4)).to_have_text("6")  # “双公示”报送
    expect(page.locator('tr[data-unit="C03"]')).to_contain_text("从未上报")
    expect(page.locator("#column-chart canvas")).to_have_count(1)
    snap(page, "stats-county-park")

    # Only February: the numbers change.
    page.select_option("#range-from", "2")
    page.select_option("#range-through", "2")
    page.locator("#range-form").get_by_role("button", name="查看").click()
    page.wait_for_url("**from=2&through=2**")
    expect(page.locator("#stat-title")).to_contain_text("2019年2—2月份")
    expect(cell(page, "C01", 4)).to_have_text("1")
    expect(cell(page, "C01", 8)).to_have_text("7")

    # Back to January–March, then the records behind C01's “双公示” cell.
    page.select_option("#range-from", "1")
    page.select_option("#range-through", "3")
    page.locator("#range-form").get_by_role("button", name="查看").click()
    page.wait_for_url("**from=1&through=3**")
    cell(page, "C01", 4).click()
    page.wait_for_url("**/stats/tables/county_park/cell/**")
    expect(page.locator("#cell-title")).to_contain_text("鲅鱼圈 · “双公示”报送")
    expect(page.locator("#cell-total")).to_have_text("6")
    records = page.locator("#cell-records tbody tr")
    expect(records).to_have_count(6)
    expect(page.locator("#cell-records")).to_contain_text("行政许可")
    expect(page.locator("#cell-records")).to_contain_text("行政处罚")
    expect(page.locator("#cell-records")).to_contain_text("营测〔2019〕")
    snap(page, "stats-cell")


def test_department_table_and_unit_trend_render_their_charts(seeded, live_server, page):
    from playwright.sync_api import expect

    log_in(page, live_server.url, "office", "/stats/tables/department/?year=2019&from=1&through=3")
    expect(page.locator("#stat-table tbody tr")).to_have_count(63)
    expect(page.locator("#stat-total")).to_contain_text("21")
    page.select_option("#chart-column", label="行政许可")
    expect(page.locator("#column-chart canvas")).to_have_count(1)
    expect(page.locator("#column-chart-note")).to_have_text("其余 61 个单位为 0，未画出。")
    snap(page, "stats-department")

    page.locator('tr[data-unit="D01"] th a').click()
    page.wait_for_url("**/stats/units/D01/**")
    expect(page.locator("h1")).to_contain_text("市行政审批局")
    expect(page.locator("[data-trend] canvas")).to_have_count(1)
    snap(page, "stats-unit")
