"""GET never writes: opening any page, for any month, as anyone, leaves every table as it was.

A month's report row is created by the first action that needs it (upload, count, nil, submit, 特许修改),
never by viewing the month, so the home page, the office overview and the review queue do not change
when someone merely looks.
"""

import datetime
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone

from bulletins import services as bulletins
from bulletins.models import Section
from rankings.services import stats_rebuild
from reporting import selectors, services
from reporting.models import AuditEvent, ImportBatch, MonthlyReport, Unit

from .factories import period, record, records, xlsx_bytes

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
CURRENT = TODAY.replace(day=1)
MONTHS = {
    "current": CURRENT,
    "last": selectors.previous_month(CURRENT),
    "with a report": period(),
    "long past": datetime.date(2000, 1, 1),
    "future": (CURRENT + datetime.timedelta(days=40)).replace(day=1),
}


def row_counts():
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.fixture
def portal(users, upload):
    """Something on every page: D01's 2019-08 with a failed and a good upload, C01's submitted, statistics,
    a bulletin with an article."""
    report = services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period())
    good = upload(report, "admin_license", xlsx_bytes("license", records("license", 3)))
    bad = upload(report, "admin_penalty", xlsx_bytes("penalty", [record("penalty", 0, credit_code="X")]))
    assert good.status == ImportBatch.Status.SUCCEEDED and bad.status == ImportBatch.Status.FAILED
    county = services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=period())
    services.report_submit(report=county, user=None, confirm_nil=True)
    stats_rebuild()
    bulletin = bulletins.bulletin_create(year=2019, user=users["office"])
    article = bulletins.article_create(bulletin=bulletin, section=Section.BRIEFS, body="简讯正文", user=users["office"])
    return {"batch": bad, "bulletin": bulletin, "article": article}


def sample_kwargs(name, params, portal, unit_code):
    """Every way to fill the URL's parameters, or None for a URL this test does not know how to fill."""
    bulletin = portal["bulletin"]
    values = {
        "unit_code": [unit_code],
        "period": list(MONTHS.values()),
        "category_code": ["admin_license"],
        "batch_id": [portal["batch"].pk],
        "code": ["D01"] if name in ("stat_unit", "unit_ranking") else ["department"],
        "kind": ["department"],
        "year": [bulletin.year],
        "number": [bulletin.number],
        "article_id": [portal["article"].pk],
        "fmt": ["docx"],
    }
    if any(p not in values for p in params):
        return None
    combos = [{}]
    for p in params:
        combos = [{**c, p: v} for c in combos for v in values[p]]
    return combos


def portal_urls(portal, unit_code):
    """Every non-admin URL of the portal, each parameter filled in every way sample_kwargs knows."""
    urls = []
    for name, entries in get_resolver().reverse_dict.lists():
        if not isinstance(name, str) or name in ("logout",):
            continue
        for possibility, *_ in entries:
            for _, params in possibility:
                for kwargs in sample_kwargs(name, params, portal, unit_code) or []:
                    try:
                        url = reverse(name, kwargs=kwargs)
                    except NoReverseMatch:
                        continue
                    if not url.startswith("/admin/"):
                        urls.append(url)
    return sorted(set(urls))


def admin_urls():
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
    return urls


def get_all(client, urls):
    statuses = {}
    for url in urls:
        statuses[url] = client.get(url).status_code
    return statuses


@pytest.mark.parametrize("who", ["dept", "office", "admin"])
def test_get_on_every_page_for_every_month_creates_no_row_in_any_table(client, users, portal, who):
    client.force_login(users[who])
    urls = portal_urls(portal, unit_code="D01" if who == "dept" else "C01")
    if who == "admin":
        urls += admin_urls()
    before = row_counts()
    statuses = get_all(client, urls)
    assert row_counts() == before
    assert len(urls) > 60
    assert sum(s == 200 for s in statuses.values()) > 20, statuses
    assert not [u for u, s in statuses.items() if s >= 500], statuses


def test_a_months_page_without_a_report_shows_the_units_categories_as_an_unsaved_draft(client, users):
    client.force_login(users["dept"])
    response = client.get(reverse("report_detail", args=["D01", "2000-01"]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "填报中" in text and "行政许可" in text and "营商环境建设" in text
    assert "已过锁定日" in text  # and the unit is told why it cannot change it
    assert not MonthlyReport.objects.exists()
    assert not AuditEvent.objects.exists()


def page(client, url):
    """The page as the user sees it (without the per-response CSRF token)."""
    return re.sub(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', "", client.get(url).content.decode())


def test_home_overview_and_queue_do_not_change_when_a_month_is_viewed(client, users):
    client.force_login(users["dept"])
    home = page(client, reverse("home"))
    client.force_login(users["office"])
    overview = reverse("month_overview", args=[MONTHS["last"].strftime("%Y-%m")])
    queue = reverse("review_queue") + "?status="
    before = [page(client, overview), page(client, queue)]
    for who, unit in (("dept", "D01"), ("office", "D02")):
        client.force_login(users[who])
        for month in MONTHS.values():
            client.get(reverse("report_detail", args=[unit, month.strftime("%Y-%m")]))
            client.get(reverse("report_records", args=[unit, month.strftime("%Y-%m"), "admin_license"]))
    client.force_login(users["office"])
    assert [page(client, overview), page(client, queue)] == before
    client.force_login(users["dept"])
    assert page(client, reverse("home")) == home
    assert not MonthlyReport.objects.exists()


def test_the_first_action_on_a_month_creates_its_report(client, users):
    client.force_login(users["dept"])
    month = MONTHS["current"].strftime("%Y-%m")
    assert client.get(reverse("report_detail", args=["D01", month])).status_code == 200
    assert not MonthlyReport.objects.exists()
    response = client.post(reverse("report_nil", args=["D01", month, "admin_license"]))
    assert response.status_code == 302
    report = MonthlyReport.objects.get()
    assert (report.unit.code, report.period) == ("D01", MONTHS["current"])
    assert report.entries.get(category__code="admin_license").is_nil is True
    assert list(report.audit_events.values_list("action", flat=True).order_by("id")) == ["created", "nil_declared"]


def test_a_refused_first_action_creates_nothing(client, users):
    """A unit past the lock day cannot start a month it never opened: nothing is written."""
    client.force_login(users["dept"])
    response = client.post(reverse("report_submit", args=["D01", "2000-01"]), {"confirm_nil": "1"})
    assert response.status_code == 403
    assert "已过锁定日" in response.content.decode()
    assert not MonthlyReport.objects.exists()
    assert not AuditEvent.objects.exists()


def test_reviewing_a_month_nobody_started_creates_nothing(client, users):
    client.force_login(users["office"])
    response = client.post(reverse("report_review", args=["D01", "2000-01"]), {"action": "accept"}, follow=True)
    assert "尚未提交，不能审核" in response.content.decode()
    assert not MonthlyReport.objects.exists()


def test_office_overview_links_every_unit_to_its_month_page(client, users):
    client.force_login(users["office"])
    month = MONTHS["last"].strftime("%Y-%m")
    text = client.get(reverse("month_overview", args=[month])).content.decode()
    assert reverse("report_detail", args=["D05", month]) in text  # no report yet: the page still opens
