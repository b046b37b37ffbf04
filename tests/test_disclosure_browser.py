"""信用信息公示 in a real browser, as an anonymous visitor: the landing page, a name search, a penalty's
detail, a natural person's masked record.  No cookie is set, nothing runs inline (CSP).

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse the ORM calls of the
fixtures; allowing it is safe here, and only here.  No ORM call is made once the browser runs.
"""

import os

import pytest
from django.core.cache import cache

from .browser import chromium, new_page, snap
from .test_disclosure import COMPANY, PERSON, PERSON_ID, PERSON_MASKED, build

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def seeded(users, upload):
    cache.clear()
    build(upload, users)
    yield
    cache.clear()


def test_anonymous_visitor_searches_and_reads_masked_records(live_server, seeded, browser):
    from playwright.sync_api import expect

    page = new_page(browser)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server.url + "/accounts/login/")
    page.locator("#public-disclosure").click()
    page.wait_for_url("**/gongshi/")
    page.context.clear_cookies()  # the login page's CSRF cookie; from here on only public pages
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("行政许可和行政处罚信息公示")
    snap(page, "gongshi-1-landing")

    page.get_by_label("类别").select_option("penalty")
    page.get_by_label("查询内容").fill("恒昌")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/gongshi/chufa/?*")
    expect(page.locator("#result-summary")).to_contain_text("共 1 条")
    expect(page.locator("#disclosure-table tbody tr")).to_have_count(1)
    snap(page, "gongshi-2-search")

    page.get_by_role("link", name=COMPANY).click()
    page.wait_for_url("**/gongshi/chufa/*/")
    expect(page.locator("#subject-name")).to_have_text(COMPANY)
    expect(page.locator("#record-fields")).to_contain_text("营罚〔2026〕1号")
    expect(page.locator("#publicity-note")).to_contain_text("公示至")

    page.get_by_role("link", name="行政处罚", exact=True).first.click()
    page.wait_for_url("**/gongshi/chufa/")
    page.get_by_role("link", name=PERSON_MASKED).click()
    page.wait_for_url("**/gongshi/chufa/*/")
    expect(page.locator("#subject-name")).to_have_text(PERSON_MASKED)
    html = page.content()
    assert PERSON not in html and PERSON_ID not in html
    assert PERSON_ID[:6] + "********" + PERSON_ID[-4:] in html
    snap(page, "gongshi-3-person")

    assert page.context.cookies() == []  # no session, no CSRF cookie for a visitor
    assert violations == []
