"""The export log for the office (/exports/) and, read-only, in the admin."""

import hashlib

import pytest
from django.urls import reverse

from credit_portal.jobs import JobStatus
from exports import services
from exports.models import ExportJob, ExportRun

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


def _post(client, **changes):
    data = {"category": "admin_license", "period_from": "2019-08", "period_through": "2019-09", "fmt": "csv",
            "headers": "code", **changes}
    return client.post(reverse("exports:run_list"), data)


def test_office_starts_an_export_in_the_background_and_downloads_it(client, users, django_capture_on_commit_callbacks,
                                                                     settings):
    client.force_login(users["office"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, fmt="xlsx", headers="zh")
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.status == JobStatus.DONE and job.message == "已导出 0 条。"
    assert job.run.user == users["office"] and job.run.headers == "zh" and job.run.format == "xlsx"
    download = client.get(reverse("exports:job_download", args=[job.pk]))
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == job.run.sha256
    assert "attachment" in download["Content-Disposition"]
    page = client.get(reverse("exports:run_list")).content.decode()
    assert "已完成" in page and job.run.sha256 in page and reverse("exports:job_download", args=[job.pk]) in page


def test_an_export_request_with_months_reversed_is_refused_in_chinese(client, users):
    client.force_login(users["office"])
    response = _post(client, period_from="2019-09", period_through="2019-08")
    assert response.status_code == 200
    assert "截止月份（2019-08）不能早于起始月份（2019-09）" in response.content.decode()
    assert not ExportJob.objects.exists()
    response = _post(client, period_from="2019-13")
    assert "月份“2019-13”格式不对" in response.content.decode() and not ExportJob.objects.exists()


def test_unit_staff_can_neither_start_nor_download_exports(client, users, django_capture_on_commit_callbacks):
    client.force_login(users["office"])
    with django_capture_on_commit_callbacks(execute=True):
        _post(client)
    job = ExportJob.objects.get()
    client.force_login(users["dept"])
    assert _post(client).status_code == 403
    assert client.get(reverse("exports:job_download", args=[job.pk])).status_code == 403
    assert ExportJob.objects.count() == 1
