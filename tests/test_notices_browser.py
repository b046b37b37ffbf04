"""催报 in a real browser: the office reminds the overdue units, the unit reads it in its inbox and submits,
the office is told.

Playwright's sync API runs an asyncio loop in this thread, so Django would refuse the ORM calls of the
fixtures; allowing it is safe here, and only here.  Set BROWSER_SCREENSHOTS=<dir> to keep screenshots.
"""

import datetime
import os

import pytest
from django.db import connections

from notices.models import Notification, ReminderLog, UnitContact
from reporting import services
from reporting.models import MonthlyReport, ReportStatus, Unit

from .browser import chromium, log_in, new_page, snap

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    with chromium() as b:
        yield b
        connections.close_all()  # the live server's connections, before the test database is dropped


def watched(page):
    """The page, collecting Content-Security-Policy violations."""
    page.csp_violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text
            and page.csp_violations.append(f"{page.url} {message.text}"))
    return page


@pytest.fixture
def last_month(users):
    """Last month, overdue for everyone (its deadline moved to yesterday); D01 may still change it."""
    from reporting.models import Deadline

    today = datetime.date.today()
    period = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    Deadline.objects.create(period=period, due_date=today - datetime.timedelta(days=1),
                            lock_date=today + datetime.timedelta(days=20))
    UnitContact.objects.create(unit=Unit.objects.get(code="D01"), person="王科长", phone="0417-2800001",
                               emails="wang@example.gov.cn")
    return period


def test_office_reminds_unit_reads_inbox_and_submits_office_is_told(browser, live_server, last_month):
    from playwright.sync_api import expect

    base = live_server.url
    label = f"{last_month.year}年{last_month.month}月"

    # The office opens 催报: last month, every unit overdue and checked by default, with its contact.
    office = watched(new_page(browser))
    log_in(office, base, "office")
    office.wait_for_url("**/office/queue/")
    office.locator(".navbar").get_by_role("link", name="催报").click()
    office.wait_for_url("**/office/remind/")
    expect(office.locator("h1")).to_contain_text(f"{label}催报")
    d01 = office.locator('tr[data-unit="D01"]')
    expect(d01).to_contain_text("王科长")
    expect(d01.locator('input[name="units"]')).to_be_checked()
    expect(office.locator('input[name="units"]:checked')).to_have_count(63)
    snap(office, "remind")
    office.click("#remind-send")
    expect(office.locator(".alert-success")).to_contain_text("已发送 63 个单位")
    expect(office.locator('tr[data-unit="D01"]')).to_contain_text("今天已发")
    assert ReminderLog.objects.filter(period=last_month).count() == 63

    # The unit sees it: the unread count in the navbar, the notice in its inbox.
    unit = watched(new_page(browser))
    log_in(unit, base, "d01")
    expect(unit.locator("#unread-count")).to_have_text("1")
    unit.click("#inbox-link")
    notice = unit.locator("#inbox li.notice-overdue")
    expect(notice).to_contain_text(f"【逾期催报】{label}信用信息报表已逾期未报")
    expect(notice).to_contain_text("未读")
    snap(unit, "unit-inbox")
    notice.get_by_role("button", name="查看").click()
    unit.wait_for_url(f"**/reports/D01/{last_month:%Y-%m}/")
    expect(unit.locator("#unread-count")).to_have_count(0)

    # It submits the month (every category confirmed as nil).
    unit.click("#submit-report")
    unit.click("#confirm-submit")
    expect(unit.locator("#report-status")).to_contain_text("已提交")
    report = MonthlyReport.objects.get(unit__code="D01", period=last_month)
    assert report.status == ReportStatus.SUBMITTED

    # The office is told, and the unit is no longer on the 催报 list.
    office.reload()
    expect(office.locator("#unread-count")).to_have_text("1")
    expect(office.locator('tr[data-unit="D01"]')).to_have_count(0)
    office.click("#inbox-link")
    told = office.locator("#inbox li.notice-submitted")
    expect(told).to_contain_text(f"市审批局提交了{label}的报表")
    snap(office, "office-inbox")
    told.get_by_role("button", name="查看").click()
    office.wait_for_url(f"**/reports/D01/{last_month:%Y-%m}/")
    expect(office.locator("#report-status")).to_contain_text("已提交")

    # The year's matrix shows the month as submitted (awaiting review) for D01, missing and late for D02.
    office.locator(".navbar").get_by_role("link", name="报送率").click()
    office.wait_for_url("**/office/rates/")
    office.goto(base + f"/office/rates/?year={last_month.year}")  # last month may be last December
    cell = office.locator(f'tr[data-unit="D01"] td.rr-cell >> nth={last_month.month - 1}')
    expect(cell).to_have_attribute("title", "已提交待审核（逾期）")
    expect(office.locator(f'tr[data-unit="D02"] td.rr-cell >> nth={last_month.month - 1}')).to_have_attribute(
        "title", "未报送（逾期）")
    snap(office, "rates")
    assert office.csp_violations == [] and unit.csp_violations == [], office.csp_violations + unit.csp_violations

    assert Notification.objects.filter(recipient__username="office", kind="submitted", read_at__isnull=False).exists()
    services.report_accept(report=report, user=None)  # and the unit hears of the acceptance
    assert Notification.objects.filter(recipient__username="d01", kind="accepted").exists()
