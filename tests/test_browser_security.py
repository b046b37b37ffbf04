"""The Content-Security-Policy in a real browser: pages, charts and tooltips work with no violation;
the lockout page and the forced password change as a user meets them.

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse
the ORM calls of the fixtures; allowing it is safe here, and only here.
"""

import os

import pytest
from django.db import connections

from rankings.services import stats_rebuild
from reporting.models import User

from . import stats_dataset as data
from .browser import chromium, log_in, new_page, snap

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser
        connections.close_all()  # see test_browser_stats


@pytest.fixture
def page(browser):
    page = new_page(browser)
    page.csp_violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text
            and page.csp_violations.append(f"{page.url} {message.location} {message.text}"))
    return page


@pytest.fixture
def seeded(users, upload):
    data.build(upload)
    stats_rebuild()


def test_pages_with_charts_run_under_the_policy(seeded, live_server, page):
    from playwright.sync_api import expect

    log_in(page, live_server.url, "office", "/stats/")
    # The portal's stylesheet is served and applied (DEBUG is off in tests, as in `make run`).
    expect(page.locator("nav.navbar")).to_have_css("background-color", "rgb(139, 26, 26)")

    page.goto(live_server.url + f"/stats/tables/county_park/?year={data.YEAR}&from=1&through=3")
    chart = page.locator("#column-chart canvas")
    expect(chart).to_have_count(1)
    chart.hover()
    page.mouse.move(*_centre(chart))
    snap(page, "csp-chart")

    for path in ("/stats/rankings/department/", "/stats/city-rank/", "/office/overview/", "/office/lockouts/",
                 "/bulletins/"):
        page.goto(live_server.url + path)
        expect(page.locator("h1").first).to_be_visible()
    assert page.csp_violations == [], "\n".join(page.csp_violations)


def test_year_select_still_submits_its_form(users, live_server, page):
    log_in(page, live_server.url, "d01")
    years = page.locator("#year option").evaluate_all("options => options.map(o => o.value)")
    other = next(year for year in years if year != page.locator("#year").input_value())
    page.select_option("#year", other)
    page.wait_for_url(f"**year={other}**")
    assert page.csp_violations == []


def test_a_locked_out_user_reads_when_to_retry(users, live_server, page):
    from playwright.sync_api import expect

    page.goto(live_server.url + "/accounts/login/")
    for _ in range(5):
        page.fill("input[name=username]", "d01")
        page.fill("input[name=password]", "not-the-password")
        with page.expect_navigation():
            page.click("button[type=submit]")
    expect(page.locator("#lockout-message")).to_contain_text("登录已暂时锁定")
    expect(page.locator("#retry-at")).to_be_visible()
    snap(page, "lockout")
    assert page.csp_violations == []


def test_admin_created_user_changes_password_first(users, live_server, page):
    from playwright.sync_api import expect

    user = User.objects.create_user("d01b", password="Initial-2019-pw", unit=users["dept"].unit,
                                    must_change_password=True)
    page.goto(live_server.url + "/")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", "d01b")
    page.fill("input[name=password]", "Initial-2019-pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password/")
    expect(page.locator("#must-change")).to_be_visible()
    page.fill("input[name=old_password]", "Initial-2019-pw")
    page.fill("input[name=new_password1]", "Own-choice-2019")
    page.fill("input[name=new_password2]", "Own-choice-2019")
    page.get_by_role("button", name="修改密码").click()
    page.wait_for_url("**/accounts/password/done/")
    page.get_by_role("link", name="进入平台").click()
    expect(page.locator(".navbar")).to_contain_text("市行政审批局")
    user.refresh_from_db()
    assert not user.must_change_password
    assert page.csp_violations == []


def _centre(locator):
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_admin_pages_run_under_the_policy(users, live_server, page):
    from playwright.sync_api import expect

    page.goto(live_server.url + "/admin/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "demo12345")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("管理后台")
    user = users["dept"]
    for path in ("/admin/", "/admin/reporting/user/", f"/admin/reporting/user/{user.pk}/change/",
                 "/admin/reporting/user/add/", f"/admin/reporting/user/{user.pk}/password/",
                 "/admin/reporting/monthlyreport/", "/admin/reporting/user/import/"):
        page.goto(live_server.url + path)
        expect(page.locator("#content")).to_be_visible()
    assert page.csp_violations == [], "\n".join(page.csp_violations)
