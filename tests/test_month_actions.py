"""The clerk's short path through a month: 其余类别本月无数据 from a confirmed list, undoing a nil, a submit
confirmation that says what gets locked, and a logout that says so."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting import services
from reporting.models import AuditEvent, Category, ReportStatus

from .factories import records, xlsx_bytes

pytestmark = pytest.mark.django_db

AUG = "2019-08"


@pytest.fixture
def report(dept_report):
    """D01's August 2019, opened by the office past its lock day."""
    return services.report_grant_exception(report=dept_report, user=None,
                                           until=timezone.localdate() + datetime.timedelta(days=30))


@pytest.fixture
def dept_client(client, users):
    client.force_login(users["dept"])
    return client


def url(name, *args, unit="D01"):
    return reverse(name, args=[unit, AUG, *args])


def untouched_codes(report):
    return sorted(e.category.code for e in report.entries.select_related("category") if not e.is_filled)


def text(response):
    return response.content.decode()


# --- 其余类别本月无数据 -------------------------------------------------------------


def test_month_page_lists_every_untouched_category_in_the_nil_rest_confirmation(dept_client, report, upload):
    upload(report, "admin_license", xlsx_bytes("license", records("license", 2)))
    page = text(dept_client.get(report.get_absolute_url()))
    assert "其余 15 类本月无数据…" in page
    modal = page[page.index('id="nil-rest-modal"'):]
    for code in untouched_codes(report):
        assert f'name="category" value="{code}" checked' in modal
    assert 'value="admin_license"' not in modal


def test_nil_rest_declares_the_confirmed_categories_and_audits_each(dept_client, report):
    codes = untouched_codes(report)
    response = dept_client.post(url("report_nil_rest"), {"category": codes}, follow=True)
    assert not untouched_codes(report)
    assert "已将 16 个类别声明为本月无数据" in text(response)
    assert response.redirect_chain[-1][0].endswith("#submit-card")
    events = AuditEvent.objects.filter(report=report, action=AuditEvent.Action.NIL_DECLARED)
    assert events.count() == 16
    assert set(events.values_list("actor__username", flat=True)) == {"d01"}


def test_nil_rest_leaves_unticked_and_meanwhile_filled_categories_alone(dept_client, report, upload):
    listed = untouched_codes(report)
    # Between showing the list and confirming it, a colleague uploads 行政许可.
    upload(report, "admin_license", xlsx_bytes("license", records("license", 1)))
    ticked = [c for c in listed if c != "admin_penalty"]
    dept_client.post(url("report_nil_rest"), {"category": ticked})
    entries = {e.category.code: e for e in report.entries.select_related("category")}
    assert entries["admin_license"].is_nil is False and entries["admin_license"].record_count == 1
    assert entries["admin_penalty"].is_filled is False
    assert sum(e.is_nil for e in entries.values()) == 14


def test_nil_rest_ignores_codes_of_categories_the_unit_does_not_report(dept_client, report):
    dept_client.post(url("report_nil_rest"), {"category": ["credit_commitment", "no_such_code"]})
    assert not report.entries.filter(is_nil=True).exists()


def test_nil_rest_on_a_submitted_month_is_refused(dept_client, report):
    services.report_submit(report=report, user=None, confirm_nil=True)
    before = AuditEvent.objects.count()
    response = dept_client.post(url("report_nil_rest"), {"category": ["admin_license"]}, follow=True)
    assert "不能修改数据" in text(response)
    assert AuditEvent.objects.count() == before


# --- undoing a nil ----------------------------------------------------------------------


def test_a_nil_can_be_undone_and_the_undo_is_audited(dept_client, report):
    services.nil_declare(report=report, category=Category.objects.get(code="admin_penalty"), user=None)
    page = text(dept_client.get(report.get_absolute_url()))
    assert url("report_nil_undo", "admin_penalty") in page

    response = dept_client.post(url("report_nil_undo", "admin_penalty"), follow=True)

    entry = report.entries.get(category__code="admin_penalty")
    assert (entry.is_nil, entry.is_filled) == (False, False)
    assert "已撤销“行政处罚”的本月无数据" in text(response)
    event = AuditEvent.objects.get(report=report, action=AuditEvent.Action.NIL_UNDONE)
    assert (event.actor.username, event.category.code) == ("d01", "admin_penalty")


def test_undoing_a_category_that_is_not_nil_changes_nothing(dept_client, report):
    response = dept_client.post(url("report_nil_undo", "admin_penalty"), follow=True)
    assert "没有声明本月无数据，无需撤销" in text(response)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.NIL_UNDONE).exists()


def test_a_submitted_month_offers_no_undo_and_refuses_one(dept_client, report):
    services.report_submit(report=report, user=None, confirm_nil=True)
    assert url("report_nil_undo", "admin_penalty") not in text(dept_client.get(report.get_absolute_url()))
    dept_client.post(url("report_nil_undo", "admin_penalty"))
    assert report.entries.get(category__code="admin_penalty").is_nil is True


def test_another_units_nil_actions_are_404(client, users, report):
    client.force_login(users["other_dept"])
    assert client.post(url("report_nil_rest"), {"category": ["admin_penalty"]}).status_code == 404
    assert client.post(url("report_nil_undo", "admin_penalty")).status_code == 404
    assert not report.entries.filter(is_nil=True).exists()


# --- submitting ----------------------------------------------------------------------------


def test_submit_confirmation_names_what_gets_locked_and_what_becomes_nil(dept_client, report, upload):
    upload(report, "admin_license", xlsx_bytes("license", records("license", 3)))
    services.nil_declare(report=report, category=Category.objects.get(code="admin_penalty"), user=None)

    page = text(dept_client.post(url("report_submit")))

    assert "提交后本月数据将锁定" in page and "全部 16 个类别" in page
    filled = page[page.index('class="submit-filled"'):page.index("</ul>", page.index('class="submit-filled"'))]
    assert "行政许可：3 条记录" in filled and "行政处罚：本月无数据" in filled
    untouched = page[page.index('class="untouched-list"'):]
    assert "联合惩戒案例" in untouched
    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT


def test_confirmed_submit_locks_the_month_and_says_so(dept_client, report):
    response = dept_client.post(url("report_submit"), {"confirm_nil": "1"}, follow=True)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED
    assert "审核期间数据已锁定" in text(response)
    assert 'id="submit-card"' not in text(response)


# --- logging out ----------------------------------------------------------------------------


def test_logout_lands_on_the_login_page_saying_so(dept_client):
    response = dept_client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "已退出登录" in text(response)
    assert "_auth_user_id" not in dept_client.session


def test_logging_out_when_already_logged_out_says_nothing(client):
    response = client.post(reverse("logout"), follow=True)
    assert "已退出登录" not in text(response)
