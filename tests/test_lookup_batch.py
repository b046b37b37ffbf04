"""批量核查: a list in, a result workbook out (per row: hits per category and a verdict); invalid codes
named, not guessed; the job with its progress page; the batch_check command's JSON contract; a real worker."""

import csv
import io
import json
import os

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from credit_portal.jobs import JobStatus
from lookup import batch, services
from lookup.models import BatchCheck, LookupAudit

from . import lookup_data as data
from .factories import uscc
from .worker import Worker, database_url, publishing_to, wait_for

pytestmark = pytest.mark.django_db
BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")

WRONG_CHECK = data.HENGCHANG_CODE[:-1] + ("0" if data.HENGCHANG_CODE[-1] != "0" else "1")
# (名称, 统一社会信用代码, 证件号码) -> (核查结论, 匹配方式)
LIST = [
    ((data.HENGCHANG, data.HENGCHANG_CODE, ""), "列入黑名单；有行政处罚记录"),
    ((data.JIANCAI, data.JIANCAI_CODE, ""), "无不良记录；列入红名单"),
    ((data.SHUNDA, data.SHUNDA_CODE.lower(), ""), "无不良记录"),  # left the black list; lower case accepted
    ((data.PERSON, "", data.PERSON_ID), "有行政处罚记录"),
    ((data.PERSON, data.PERSON_ID, ""), "有行政处罚记录"),  # an ID number in the code column
    ((data.SHOP, "", ""), "无不良记录"),  # name only: exact name
    (("某某新公司", uscc(999), ""), "未查到相关记录"),
    (("抄错代码的公司", WRONG_CHECK, ""), "代码无效"),
    (("别名公司", data.HENGCHANG_CODE, ""), "列入黑名单；有行政处罚记录"),  # matched by code, name differs
    (("", "", ""), None),  # blank row: skipped
    (("无代码的人", "", "12345"), "代码无效"),
]


@pytest.fixture
def dataset(users, upload):
    return data.build(upload)


def list_xlsx(rows=LIST, headers=("名称", "统一社会信用代码", "证件号码"), title=None):
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(list(headers))
    for values, _ in rows:
        sheet.append(list(values))
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text typed with a leading ', as a clerk would
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_result(path):
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    width = len(rows[0])  # read-only rows stop at their last written cell
    return [dict(zip(rows[0], r + [None] * (width - len(r)), strict=True)) for r in rows[1:]]


def run_cli(tmp_path, content, name="名单.xlsx", *extra):
    source, out = tmp_path / name, tmp_path / "结果.xlsx"
    source.write_bytes(content)
    stdout = io.StringIO()
    call_command("batch_check", str(source), "-o", str(out), "--json", *extra, stdout=stdout)
    return json.loads(stdout.getvalue().strip().splitlines()[-1]), read_result(out)


def test_batch_check_gives_a_verdict_and_the_hits_per_category_for_each_row(dataset, tmp_path):
    summary, rows = run_cli(tmp_path, list_xlsx())
    expected = [verdict for _, verdict in LIST if verdict]
    assert [r["核查结论"] for r in rows] == expected
    assert summary == {"rows": 10, "with_hits": 7, "invalid": 2}
    first = rows[0]
    assert (first["行号"], first["名称"], first["行政许可"], first["行政处罚"], first["地方发布黑名单"]) == (
        2, data.HENGCHANG, 1, 1, 1)
    assert (first["当前列入黑名单"], first["公示期内行政处罚（条）"], first["列入红名单"], first["记录合计"]) == (
        "是", 1, "否", 3)
    assert rows[1]["地方发布红名单"] == 1 and rows[1]["行政处罚"] == 1 and "已过公示期" in rows[1]["说明"]
    assert rows[1]["行政许可"] is None  # no hits in a category: left blank
    assert "已退出" in rows[2]["说明"]
    assert rows[4]["匹配方式"] == "证件号码"
    assert rows[5]["匹配方式"] == "名称（精确）" and "同名" in rows[5]["说明"]
    assert rows[6]["记录合计"] == 0
    assert "校验位错误" in rows[7]["说明"] and rows[7]["行政许可"] is None
    assert "名称与记录不一致" in rows[8]["说明"]
    assert [r["行号"] for r in rows][-1] == 12  # Excel's row numbers, the blank row left out


def test_a_csv_list_in_gb18030_with_other_headers_is_read(dataset, tmp_path):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["序号", "申请单位", "统一社会信用代码（18位）"])
    writer.writerow(["1", data.HENGCHANG, data.HENGCHANG_CODE])
    writer.writerow(["2", data.JIANCAI, data.JIANCAI_CODE])
    summary, rows = run_cli(tmp_path, out.getvalue().encode("gb18030"), "名单.csv")
    assert summary == {"rows": 2, "with_hits": 2, "invalid": 0}
    assert [r["核查结论"] for r in rows] == ["列入黑名单；有行政处罚记录", "无不良记录；列入红名单"]


def test_a_title_row_above_the_header_is_passed_over(dataset, tmp_path):
    summary, rows = run_cli(tmp_path, list_xlsx(LIST[:2], title="2019年招投标申请人名单"))
    assert summary["rows"] == 2 and rows[0]["行号"] == 3


def test_the_check_is_as_of_a_date(dataset, tmp_path):
    summary, rows = run_cli(tmp_path, list_xlsx(LIST[:1]), "名单.xlsx", "--as-of", "2019-08-08")
    assert rows[0]["核查结论"] == "有行政处罚记录" and rows[0]["当前列入黑名单"] == "否"


def test_text_that_looks_like_a_formula_stays_text(dataset, tmp_path):
    _, rows = run_cli(tmp_path, list_xlsx([(("=1+2", data.JIANCAI_CODE, ""), "")]))
    assert rows[0]["名称"] == "=1+2"


def test_a_list_without_a_header_is_refused(dataset, tmp_path):
    with pytest.raises(CommandError, match="没有找到名单的表头"):
        run_cli(tmp_path, list_xlsx(LIST[:2], headers=("甲", "乙", "丙")))


def test_a_list_longer_than_the_limit_is_refused(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "MAX_ROWS", 5)
    with pytest.raises(CommandError, match="名单超过 5 行"):
        run_cli(tmp_path, list_xlsx())


def test_the_command_line_check_is_audited(dataset, tmp_path):
    run_cli(tmp_path, list_xlsx())
    audit = LookupAudit.objects.get()
    assert (audit.channel, audit.action, audit.query, audit.hits, audit.details["rows"], audit.details["invalid"]) == (
        "cli", "batch", "名单.xlsx", 7, 10, 2)


# --- the web job ----------------------------------------------------------------------


def upload_list(client, content, name="名单.xlsx", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("lookup_batch"), {"file": SimpleUploadedFile(name, content), **extra})


def test_the_office_uploads_a_list_and_downloads_the_result(client, users, dataset,
                                                            django_capture_on_commit_callbacks):
    client.force_login(users["office"])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_list(client, list_xlsx())
    job = BatchCheck.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("lookup_batch_detail", args=[job.pk])
    assert (job.status, job.total_rows, job.with_hits, job.invalid_rows, job.user) == (
        JobStatus.DONE, 10, 7, 2, users["office"])
    page = client.get(reverse("lookup_batch_detail", args=[job.pk])).content.decode()
    assert "已核查 10 行" in page and reverse("lookup_batch_result", args=[job.pk]) in page
    response = client.get(reverse("lookup_batch_result", args=[job.pk]))
    rows = read_result(io.BytesIO(b"".join(response.streaming_content)))
    assert [r["核查结论"] for r in rows] == [verdict for _, verdict in LIST if verdict]
    assert LookupAudit.objects.get().details["job"] == job.pk


def test_a_refused_list_is_a_form_error_and_no_job(client, users, dataset):
    client.force_login(users["office"])
    page = upload_list(client, list_xlsx(headers=("甲", "乙", "丙"))).content.decode()
    assert "没有找到名单的表头" in page
    page = upload_list(client, b"not a workbook", "名单.xls").content.decode()
    assert "不支持旧版 Excel" in page
    assert not BatchCheck.objects.exists()


def test_a_pending_job_shows_its_progress_and_a_finished_one_refreshes_the_page(client, users, dataset):
    client.force_login(users["office"])
    job = BatchCheck.objects.create(user=users["office"], file="lookup/batch/x.xlsx", original_name="x.xlsx",
                                    as_of=timezone.localdate(), total_rows=200, done_rows=50)
    page = client.get(reverse("lookup_batch_progress", args=[job.pk])).content.decode()
    assert "已核查 50 / 200 行（25%）" in page and 'data-progress="25"' in page
    BatchCheck.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    assert client.get(reverse("lookup_batch_progress", args=[job.pk]))["HX-Refresh"] == "true"


def test_a_job_runs_once_however_often_it_is_run(users, dataset, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    job = services.batch_check_request(user=users["office"], fileobj=SimpleUploadedFile("a.xlsx", list_xlsx()),
                                       name="a.xlsx", as_of=timezone.localdate())
    services.batch_check_run(job_id=job.pk)
    services.batch_check_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)
    assert LookupAudit.objects.count() == 1


def test_the_sweep_runs_a_job_whose_message_never_reached_a_worker(users, dataset):
    """Enqueued on commit; here the commit callback never runs (as if Redis were down): the beat's sweep does it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from credit_portal import jobs

    job = services.batch_check_request(user=users["office"], fileobj=SimpleUploadedFile("a.xlsx", list_xlsx()),
                                       name="a.xlsx", as_of=timezone.localdate())
    assert BatchCheck.objects.get(pk=job.pk).status == JobStatus.PENDING
    assert jobs.jobs_sweep() >= 1
    assert BatchCheck.objects.get(pk=job.pk).status == JobStatus.DONE


# --- a real worker --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_job_and_the_owner_downloads_the_result(client, users, upload, tmp_path, media_root):
    from django.db import connection

    data.build(upload)
    worker = Worker(broker_url=BROKER, database_url=database_url(connection.settings_dict), media_root=media_root,
                    log_path=tmp_path / "worker.log").start()
    try:
        with publishing_to(BROKER) as app:
            app.control.purge()
            client.force_login(users["office"])
            upload_list(client, list_xlsx())
            job = BatchCheck.objects.get()
            assert wait_for(lambda: BatchCheck.objects.get(pk=job.pk).is_finished, timeout=30), worker.read_log()[-3000:]
    finally:
        worker.stop()
    job.refresh_from_db()
    assert (job.status, job.with_hits, job.invalid_rows) == (JobStatus.DONE, 7, 2)
    response = client.get(reverse("lookup_batch_result", args=[job.pk]))
    assert len(read_result(io.BytesIO(b"".join(response.streaming_content)))) == 10
