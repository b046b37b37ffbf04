"""Who reaches what: a unit's reporter sees only their own unit; the office sees all; anonymous users log in."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting import services
from reporting.models import Category, ImportBatch, MonthlyReport, Unit

from .factories import period, record, records, xlsx_bytes

pytestmark = pytest.mark.django_db

AUG = "2019-08"


@pytest.fixture
def other_report(users):
    """D02's report for 2019-08, with one failed upload (errors and some valid rows)."""
    report = services.report_get_or_create(unit=Unit.objects.get(code="D02"), period=period())
    until = timezone.localdate() + datetime.timedelta(days=30)
    return services.report_grant_exception(report=report, user=None, until=until)


@pytest.fixture
def other_batch(other_report, upload, users):
    rows = records("license", 2) + [record("license", 9, credit_code="91110000600037341A")]
    batch = upload(other_report, "admin_license", xlsx_bytes("license", rows), user=users["other_dept"])
    assert batch.status == ImportBatch.Status.FAILED
    return batch


def report_urls(unit_code, month=AUG):
    """(method, url) of every page and action on a unit's month."""
    args = [unit_code, month]
    return [
        ("get", reverse("report_detail", args=args)),
        ("post", reverse("report_upload", args=[*args, "admin_license"])),
        ("post", reverse("report_count", args=[*args, "admin_license"])),
        ("post", reverse("report_nil", args=[*args, "admin_license"])),
        ("post", reverse("report_submit", args=args)),
        ("get", reverse("report_records", args=[*args, "admin_license"])),
    ]


def batch_urls(batch):
    return [
        ("get", reverse("batch_detail", args=[batch.pk])),
        ("get", reverse("batch_progress", args=[batch.pk])),
        ("post", reverse("batch_keep_valid", args=[batch.pk])),
        ("get", reverse("batch_file", args=[batch.pk])),
        ("get", reverse("batch_errors", args=[batch.pk])),
    ]


def request(client, method, url):
    return getattr(client, method)(url)


# --- another unit's data is a 404 ---------------------------------------------------


def test_unit_staff_get_404_on_every_page_and_action_of_another_units_report(client, users, other_batch):
    client.force_login(users["dept"])
    for method, url in report_urls("D02"):
        response = request(client, method, url)
        assert response.status_code == 404, (method, url)


def test_owner_reaches_the_same_report_urls(client, users, other_batch):
    """The 404s above come from scoping, not from broken URLs."""
    client.force_login(users["other_dept"])
    for method, url in report_urls("D02"):
        response = request(client, method, url)
        assert response.status_code in (200, 302), (method, url, response.status_code)


def test_unit_staff_get_404_on_another_units_import_pages_file_and_error_report(client, users, other_batch):
    client.force_login(users["dept"])
    for method, url in batch_urls(other_batch):
        assert request(client, method, url).status_code == 404, (method, url)
    assert ImportBatch.objects.filter(report__unit__code="D02").count() == 1


def test_owner_and_office_reach_the_import_pages(client, users, other_batch):
    for user in (users["other_dept"], users["office"]):
        client.force_login(user)
        for method, url in batch_urls(other_batch):
            if method == "get":
                assert request(client, method, url).status_code == 200, (user, url)


def test_unit_staff_cannot_create_another_units_report_by_visiting_it(client, users):
    client.force_login(users["dept"])
    response = client.get(reverse("report_detail", args=["D03", AUG]))
    assert response.status_code == 404
    assert not MonthlyReport.objects.filter(unit__code="D03").exists()


def test_unknown_unit_and_future_month_are_404(client, users):
    client.force_login(users["dept"])
    assert client.get(reverse("report_detail", args=["X99", AUG])).status_code == 404
    assert client.get(reverse("report_detail", args=["D01", "2999-01"])).status_code == 404
    assert client.get("/reports/D01/2019-13/").status_code == 404


def test_unit_staff_reach_only_categories_of_their_report(client, users, dept_report):
    client.force_login(users["dept"])
    county_only = Category.objects.get(code="credit_commitment")
    url = reverse("report_records", args=["D01", AUG, county_only.code])
    assert client.get(url).status_code == 404


def test_office_sees_any_units_report(client, users, other_report):
    client.force_login(users["office"])
    response = client.get(reverse("report_detail", args=["D02", AUG]))
    assert response.status_code == 200
    assert "市市场监督管理局" in response.content.decode()


# --- the office's pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name,args",
    [
        ("review_queue", []),
        ("month_overview", []),
        ("month_overview", [AUG]),
    ],
)
def test_unit_staff_cannot_open_office_pages(client, users, url_name, args):
    client.force_login(users["dept"])
    assert client.get(reverse(url_name, args=args)).status_code == 403


def test_unit_staff_cannot_review_even_their_own_report(client, users, dept_report):
    services.report_submit(report=dept_report, user=None, confirm_nil=True)
    client.force_login(users["dept"])
    response = client.post(reverse("report_review", args=["D01", AUG]), {"action": "accept"})
    assert response.status_code == 403
    dept_report.refresh_from_db()
    assert dept_report.status == "submitted"


def test_office_pages_open_for_the_office(client, users):
    client.force_login(users["office"])
    assert client.get(reverse("review_queue")).status_code == 200
    assert client.get(reverse("month_overview", args=[AUG])).status_code == 200


# --- anonymous users ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/reports/D01/2019-08/", "/office/queue/", "/imports/1/"])
def test_anonymous_users_are_sent_to_login(client, reference, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_login_page_is_chinese(client, reference):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "登录" in response.content.decode()


def test_logout_is_a_post(client, users):
    client.force_login(users["dept"])
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302
