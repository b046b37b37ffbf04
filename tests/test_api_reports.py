"""GET …/reports/{unit}/{period} is report_status --json; POST …/submit submits through the page's service."""

import io
import json

import pytest
from django.core.management import call_command

from api.models import ApiCall
from reporting import services
from reporting.models import AuditEvent, MonthlyReport, Record, ReportEntry, ReportStatus, Unit

from .api_helpers import license_rows, this_month, url

pytest_plugins = ["tests.api_fixtures"]
pytestmark = pytest.mark.django_db


def cli_status(unit="D02", period=None):
    out = io.StringIO()
    call_command("report_status", "--unit", unit, "--period", period or this_month(), "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_status_of_an_untouched_month_is_the_clis_and_creates_nothing(api):
    response = api.get(url())
    assert response.status_code == 200
    assert response.json() == cli_status()
    assert response.json()["status"] == "draft" and response.json()["on_time"] is None
    assert not MonthlyReport.objects.exists()
    assert ApiCall.objects.count() == 1  # the call log: the one write of a GET


def test_status_after_rows_and_nil_is_the_clis(api):
    api.put(url(category="admin_license"), {"mode": "replace", "rows": license_rows(4)})
    api.put(url(category="admin_penalty"), {"nil": True})
    body = api.get(url()).json()
    assert body == cli_status()
    assert body["categories"]["admin_license"] == {"records": 4, "count": None, "nil": False}
    assert body["categories"]["admin_penalty"] == {"records": 0, "count": None, "nil": True}
    assert set(body["categories"]) == {c.code for c in Unit.objects.get(code="D02").categories()}
    assert body["url"] == f"/reports/D02/{this_month()}/"


def test_status_of_an_old_month_is_readable(api):
    assert api.get(url(period="2019-08")).json() == cli_status(period="2019-08")


def test_submit_declares_untouched_categories_nil_and_locks_the_month(api):
    api.put(url(category="admin_license"), {"mode": "replace", "rows": license_rows(2)})
    response = api.post(url(tail="/submit"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "submitted" and body["on_time"] is True
    untouched = [c.code for c in Unit.objects.get(code="D02").categories() if c.code != "admin_license"]
    assert sorted(body["nil_declared"]) == sorted(untouched)
    assert {k: v for k, v in body.items() if k in ("status", "url", "on_time", "categories")} == cli_status()
    report = MonthlyReport.objects.get(unit__code="D02")
    assert report.status == ReportStatus.SUBMITTED
    assert AuditEvent.objects.filter(report=report, action=AuditEvent.Action.SUBMITTED,
                                     actor__username="api_d02").exists()

    again = api.post(url(tail="/submit"))
    assert again.status_code == 409 and "已提交" in again.json()["detail"]
    refused = api.put(url(category="admin_license"), {"mode": "append", "rows": license_rows(1, start=9)})
    assert refused.status_code == 409 and "不能修改数据" in refused.json()["detail"]
    assert Record.objects.count() == 2


def test_submit_can_refuse_rather_than_declare_nil(api):
    api.put(url(category="admin_license"), {"mode": "replace", "rows": license_rows(1)})
    response = api.post(url(tail="/submit"), {"confirm_nil": False})
    assert response.status_code == 422 and response.json()["code"] == "needs_confirmation"
    assert "admin_penalty" in response.json()["categories"] and "admin_license" not in response.json()["categories"]
    assert MonthlyReport.objects.get(unit__code="D02").status == ReportStatus.DRAFT
    assert not ReportEntry.objects.filter(report__unit__code="D02", is_nil=True).exists()
    assert api.post(url(tail="/submit"), {"confirm_nil": "yes"}).status_code == 422


def test_a_returned_month_can_be_corrected_and_submitted_again(api, users):
    api.put(url(category="admin_license"), {"mode": "replace", "rows": license_rows(1)})
    api.post(url(tail="/submit"))
    report = MonthlyReport.objects.get(unit__code="D02")
    services.report_return(report=report, user=users["office"], reason="缺少行政处罚")
    assert api.get(url()).json()["status"] == "returned"
    assert api.put(url(category="admin_license"), {"mode": "append", "rows": license_rows(1, start=3)}).status_code == 200
    assert api.post(url(tail="/submit")).json()["status"] == "submitted"


def test_submitting_a_locked_month_is_refused_like_the_page(api):
    response = api.post(url(period="2019-08", tail="/submit"))
    assert response.status_code == 409 and "锁定日" in response.json()["detail"]
    assert not MonthlyReport.objects.exists()


def test_submit_writes_the_same_audit_as_the_page(api, users):
    api.put(url(category="admin_license"), {"mode": "replace", "rows": license_rows(1)})
    api.post(url(tail="/submit"))
    report = MonthlyReport.objects.get(unit__code="D02")
    actions = set(AuditEvent.objects.filter(report=report).values_list("action", flat=True))
    assert {AuditEvent.Action.CREATED, AuditEvent.Action.IMPORTED, AuditEvent.Action.NIL_DECLARED,
            AuditEvent.Action.SUBMITTED} <= actions
