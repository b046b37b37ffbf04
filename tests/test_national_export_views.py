"""The export log for the office (/exports/) and, read-only, in the admin."""

import pytest
from django.urls import reverse

from exports import services
from exports.models import ExportRun

from .factories import period

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(users, tmp_path):
    return services.export_disclosure(category="admin_license", period_from=period(2019, 8),
                                      period_through=period(2019, 9), fmt="csv", path=tmp_path / "a.csv").run


def test_office_sees_who_when_range_rows_and_hash(client, users, run):
    client.force_login(users["office"])
    response = client.get(reverse("exports:run_list"))
    assert response.status_code == 200
    text = response.content.decode()
    assert run.sha256 in text and "命令行" in text and "2019-08 — 2019-09" in text and "行政许可" in text


def test_unit_staff_cannot_see_the_export_log(client, users, run):
    client.force_login(users["dept"])
    assert client.get(reverse("exports:run_list")).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, run):
    response = client.get(reverse("exports:run_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_admin_shows_runs_read_only(client, users, run):
    client.force_login(users["admin"])
    changelist = client.get(reverse("admin:exports_exportrun_changelist"))
    assert changelist.status_code == 200 and run.sha256 in changelist.content.decode()
    assert client.get(reverse("admin:exports_exportrun_add")).status_code == 403
    assert client.post(reverse("admin:exports_exportrun_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
    assert ExportRun.objects.filter(pk=run.pk).exists()
