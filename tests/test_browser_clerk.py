"""A newcomer's month in a real browser, counted in clicks; the main pages at phone width (390 px).

The walk: sign in, open the month the home page proposes, upload one file, declare the rest nil from
the confirmation list, submit after the confirmation that says what gets locked, sign out.  Every click
goes through `Clicks`, and the walk fails above ten.

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse the ORM calls of the
fixtures; allowing it is safe here, and only here.  Set BROWSER_SCREENSHOTS=<dir> to keep screenshots.
"""

import datetime
import os

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from rankings.services import stats_rebuild
from reporting import services
from reporting.models import MonthlyReport, Record, ReportStatus, Unit

from .browser import chromium, log_in, new_page, snap
from .factories import records, xlsx_bytes

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PHONE = 390
MAX_CLICKS = 10


@pytest.fixture
def browser():
    with chromium() as b:
        yield b
        connections.close_all()  # connections opened under Playwright's loop: close them before teardown


class Clicks:
    """Every click of the walk goes through here, so the count is the walk's."""

    def __init__(self, page):
        self.page, self.count, self.steps = page, 0, []

    def __call__(self, locator, step):
        locator.click()
        self.count += 1
        self.steps.append(step)

    def choose_file(self, locator, step, *, name, content):
        with self.page.expect_file_chooser() as chooser:
            self(locator, step)
        chooser.value.set_files(files=[{"name": name, "mimeType": XLSX, "buffer": content}])


def test_a_newcomers_month_takes_at_most_ten_clicks(browser, live_server, users):
    from playwright.sync_api import expect

    page = new_page(browser, width=1366)
    click = Clicks(page)
    base = live_server.url

    page.goto(base + "/")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", "d01")
    page.fill("input[name=password]", "demo12345")
    click(page.get_by_role("button", name="登录"), "登录")

    click(page.locator("#due-now").get_by_role("link", name="去填报"), "去填报")
    page.wait_for_url("**/reports/D01/**")
    report_url = page.url
    snap(page, "clerk-1-month")

    row = page.locator("#cat-admin_license")
    expect(row.locator(".file-pick")).to_have_text("选择文件")
    expect(row.locator(".file-pick-name")).to_have_text("未选择文件")
    click.choose_file(row.locator(".file-pick"), "选择文件", name="行政许可-本月.xlsx",
                      content=xlsx_bytes("license", records("license", 3)))
    expect(row.locator(".file-pick-name")).to_contain_text("行政许可-本月.xlsx")
    click(row.get_by_role("button", name="上传"), "上传")
    page.wait_for_url("**/imports/*/")
    expect(page.locator("#batch-message")).to_contain_text("成功导入 3 条记录")
    snap(page, "clerk-2-imported")

    click(page.get_by_role("link", name="返回月度报表"), "返回月度报表")
    page.wait_for_url(report_url + "*")
    expect(page.locator("#cat-admin_license .entry-value")).to_contain_text("3 条")

    click(page.locator("#nil-rest-open"), "其余类别本月无数据")
    modal = page.locator("#nil-rest-modal")
    expect(modal).to_be_visible()
    expect(modal.locator("input[name=category]:checked")).to_have_count(15)
    expect(modal).to_contain_text("行政处罚")
    snap(page, "clerk-3-nil-rest")
    click(modal.locator("#nil-rest-confirm"), "确认本月无数据")
    expect(page.locator(".portal-messages")).to_contain_text("已将 15 个类别声明为本月无数据")
    expect(page.locator(".portal-messages")).to_be_in_viewport()

    click(page.locator("#submit-report"), "提交")
    expect(page.locator("#lock-notice")).to_contain_text("提交后本月数据将锁定")
    snap(page, "clerk-4-confirm")
    click(page.locator("#confirm-submit"), "确认提交")
    expect(page.locator("#report-status")).to_contain_text("已提交")
    expect(page.locator(".portal-messages")).to_contain_text("已提交")

    click(page.get_by_role("button", name="退出登录"), "退出登录")
    page.wait_for_url("**/accounts/login/")
    expect(page.locator(".portal-messages")).to_contain_text("已退出登录")
    snap(page, "clerk-5-logged-out")

    print(f"\nclicks: {click.count} — " + " → ".join(click.steps))
    assert click.steps.index("确认提交") + 1 <= MAX_CLICKS - 1, click.steps  # submitted in nine
    assert click.count <= MAX_CLICKS, click.steps
    report = MonthlyReport.objects.get(unit__code="D01", status=ReportStatus.SUBMITTED)
    assert Record.objects.filter(report=report).count() == 3
    assert report.entries.filter(is_nil=True).count() == 15


def test_an_upload_disables_its_button_and_names_the_file_while_it_runs(browser, live_server, users):
    from playwright.sync_api import expect

    page = new_page(browser, width=PHONE)
    period = services.report_open(unit=Unit.objects.get(code="D01"), period=timezone.localdate(), user=None).period
    report_url = reverse("report_detail", args=["D01", period.strftime("%Y-%m")])
    log_in(page, live_server.url, "d01", report_url)
    # Hold the form once the page's own handlers have run (a listener on window runs last), look, then send it.
    page.evaluate("""() => window.addEventListener("submit", event => {
        if (!window.letGo && event.target.matches("form.upload-form")) event.preventDefault();
    })""")
    row = page.locator("#cat-admin_license")
    row.locator("input[name=file]").set_input_files(
        files=[{"name": "许可-大文件.xlsx", "mimeType": XLSX, "buffer": xlsx_bytes("license", records("license", 2))}])
    row.get_by_role("button", name="上传").click()
    expect(row.get_by_role("button", name="上传中…")).to_be_disabled()
    expect(row.locator(".upload-status")).to_contain_text("正在上传并检查“许可-大文件.xlsx（")
    expect(row.locator(".spinner-border")).to_be_visible()
    expect(page.locator("#cat-admin_penalty").get_by_role("button", name="上传")).to_be_disabled()  # one at a time
    snap(page, "upload-spinner")
    row.locator("form.upload-form").evaluate("form => { window.letGo = true; form.submit(); }")
    page.wait_for_url("**/imports/*/")
    expect(page.locator("#batch-message")).to_contain_text("成功导入 2 条记录")


def test_upload_without_a_file_says_so_in_chinese(browser, live_server, users):
    from playwright.sync_api import expect

    page = new_page(browser, width=PHONE)
    period = services.report_open(unit=Unit.objects.get(code="D01"), period=timezone.localdate(), user=None).period
    log_in(page, live_server.url, "d01", reverse("report_detail", args=["D01", period.strftime("%Y-%m")]))
    row = page.locator("#cat-admin_license")
    # As if the browser did not check the required input itself (older browsers, a hidden input).
    row.locator("form.upload-form").evaluate(
        "form => form.dispatchEvent(new Event('submit', {bubbles: true, cancelable: true}))")
    expect(row.locator(".upload-status")).to_have_text("请先点击“选择文件”选择要上传的文件。")
    expect(row.get_by_role("button", name="上传")).to_be_enabled()


# --- phone width ---------------------------------------------------------------------------------


def within_viewport(page, locator, what):
    """The element is fully inside the viewport's width as the page opens: nothing cut off at the right or
    left, and nothing to scroll sideways to (vertical position does not matter)."""
    box = locator.bounding_box()
    assert box is not None, f"{what}: not displayed"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE + 0.5, f"{what}: {box} outside 0–{PHONE} px"


def no_page_overflow(page, what):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE, f"{what}: the page is {width} px wide at {PHONE} px"


@pytest.fixture
def month_with_history(users, upload):
    """D01: this month opened with one upload (editable); last month submitted (in the queue)."""
    unit = Unit.objects.get(code="D01")
    today = timezone.localdate()
    current = services.report_open(unit=unit, period=today, user=None)
    upload(current, "admin_license", xlsx_bytes("license", records("license", 2)))
    last = services.report_get_or_create(unit=unit, period=(today.replace(day=1) - datetime.timedelta(days=1)))
    services.report_submit(report=last, user=None, confirm_nil=True)
    return current, last


def test_the_report_page_at_phone_width_keeps_its_actions_on_screen(browser, live_server, month_with_history):
    current, _ = month_with_history
    page = new_page(browser, width=PHONE)
    log_in(page, live_server.url, "d01", current.get_absolute_url())
    no_page_overflow(page, "report page")
    within_viewport(page, page.locator("#nil-rest-open"), "其余类别本月无数据")
    within_viewport(page, page.locator("#submit-report"), "提交")
    for code in ("admin_license", "admin_penalty", "business_env_building"):
        row = page.locator(f"#cat-{code}")
        within_viewport(page, row.locator(".file-pick"), f"{code} 选择文件")
        within_viewport(page, row.get_by_role("button", name="上传"), f"{code} 上传")
        within_viewport(page, row.get_by_role("link", name="下载模板"), f"{code} 下载模板")
    within_viewport(page, page.locator("#cat-admin_penalty .nil-button"), "本月无数据")
    within_viewport(page, page.locator("#cat-admin_license").get_by_role("link", name="浏览记录"), "浏览记录")
    snap(page, "phone-report")

    page.locator("#cat-admin_license").get_by_role("link", name="浏览记录").click()
    within_viewport(page, page.get_by_role("link", name="修改").first, "修改记录")
    within_viewport(page, page.get_by_role("button", name="删除").first, "删除记录")
    snap(page, "phone-records")


def test_the_offices_pages_at_phone_width(browser, live_server, month_with_history):
    _, last = month_with_history
    page = new_page(browser, width=PHONE)
    log_in(page, live_server.url, "office", reverse("review_queue"))
    no_page_overflow(page, "review queue")
    row = page.locator('tr[data-unit="D01"]')
    within_viewport(page, row.get_by_role("link", name="审核"), "审核")
    within_viewport(page, row.locator("td").first, "unit name")
    assert row.locator("td").first.bounding_box()["width"] > 60
    within_viewport(page, page.get_by_role("button", name="筛选"), "筛选")
    snap(page, "phone-queue")

    page.goto(live_server.url + reverse("month_overview", args=[last.period_code]))
    no_page_overflow(page, "month overview")
    for unit in ("D01", "C01", "P01"):
        name = page.locator(f'tr[data-unit="{unit}"] td').first
        within_viewport(page, name, f"{unit} name")
        assert name.bounding_box()["width"] > 80, f"{unit}: the unit column collapsed"
        within_viewport(page, page.locator(f'tr[data-unit="{unit}"]').get_by_role("link", name="查看"), f"{unit} 查看")
    within_viewport(page, page.get_by_role("link", name="‹ 上月"), "上月")
    within_viewport(page, page.get_by_role("link", name="下月 ›"), "下月")
    snap(page, "phone-overview")

    page.goto(live_server.url + last.get_absolute_url())
    no_page_overflow(page, "review page")
    within_viewport(page, page.locator("#accept-report"), "审核通过")
    within_viewport(page, page.locator("#return-report"), "退回")
    snap(page, "phone-review")


def test_statistics_and_rankings_at_phone_width(browser, live_server, month_with_history, users):
    _, last = month_with_history
    services.report_accept(report=last, user=users["office"])
    stats_rebuild()
    page = new_page(browser, width=PHONE)
    log_in(page, live_server.url, "office", reverse("stat_index"))
    for code in ("department", "county_park"):
        page.goto(live_server.url + reverse("stat_table", args=[code]))
        no_page_overflow(page, f"{code} table")
        within_viewport(page, page.locator("#range-form").get_by_role("button", name="查看"), "查看")
        within_viewport(page, page.get_by_role("link", name="导出 Excel"), "导出 Excel")
        first_name = page.locator("#stat-table tbody th.stat-name").first
        within_viewport(page, first_name, "unit column")
        # Scrolled to its last column, the table keeps the unit column in sight.
        page.locator(".stat-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        box = first_name.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE, f"{code}: the unit column scrolled away"
        snap(page, f"phone-stat-{code}")

    page.goto(live_server.url + reverse("rankings"))
    no_page_overflow(page, "rankings")
    within_viewport(page, page.locator("#range-form").get_by_role("button", name="查看"), "rankings 查看")
    name = page.locator("#rank-table tbody th.stat-name").first
    page.locator("#rank-table").locator("xpath=..").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    box = name.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE, "rankings: the unit column scrolled away"
    snap(page, "phone-rankings")


def test_the_department_tables_total_column_is_reachable_on_a_laptop(browser, live_server, users):
    page = new_page(browser, width=1366)
    log_in(page, live_server.url, "office", reverse("stat_table", args=["department"]))
    scroller = page.locator(".stat-scroll")
    scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    total = page.locator("#stat-table thead tr").first.locator("th").last
    assert total.inner_text().strip() == "总计"
    frame, box = scroller.bounding_box(), total.bounding_box()
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5, (frame, box)
    assert box["x"] + box["width"] <= 1366
    snap(page, "laptop-department")
