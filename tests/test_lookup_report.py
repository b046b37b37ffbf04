"""信用报告 files: PDF (text extracted with pdftotext) and DOCX (python-docx), numbered, from the same data
as the profile page, ID numbers masked for a unit, the subject as of the chosen date."""

import datetime
import io
import re
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone
from docx import Document

from lookup import selectors
from lookup.models import LookupAudit, LookupGrant
from reporting import services
from reporting.models import Unit
from reporting.validators import mask_id_number

from . import lookup_data as data
from .factories import period, record, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(users, upload):
    return data.build(upload)


def anchor(**filters):
    return selectors.searchable_records().filter(**filters).order_by("id").first().pk


def download(client, fmt, as_of=None, **filters):
    params = {"as_of": as_of.isoformat()} if as_of else {}
    response = client.get(reverse("lookup_report", args=[anchor(**filters), fmt]), params)
    assert response.status_code == 200, response.content[:300]
    return response, b"".join(response.streaming_content)


def pdf_text(content, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return re.sub(r"\s+", "", text)


def docx_text(content):
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return re.sub(r"\s+", "", "\n".join(parts))


EXPECTED = ["信用报告", data.HENGCHANG, data.HENGCHANG_CODE, "营口市社会信用体系建设领导小组办公室",
            "列入黑名单；有行政处罚记录", "营审〔2019〕1号", "营罚〔2019〕1号", "营黑〔2019〕1号", "行政许可（1条）",
            "行政处罚（1条）", "黑名单（1条）", "公示期内", "地方发布黑名单", "2019-08-10"]


def test_the_pdf_report_carries_the_number_the_office_the_marks_and_every_record(client, users, dataset, tmp_path):
    client.force_login(users["office"])
    response, content = download(client, "pdf", credit_code=data.HENGCHANG_CODE)
    assert content.startswith(b"%PDF") and response["Content-Type"] == "application/pdf"
    text = pdf_text(content, tmp_path)
    number = LookupAudit.objects.get(action="report").report_number
    assert number and number in text and number in response["Content-Disposition"]
    for expected in EXPECTED:
        assert expected in text, expected
    assert data.UNACCEPTED_DOC not in text


def test_the_docx_report_says_the_same(client, users, dataset):
    client.force_login(users["office"])
    response, content = download(client, "docx", credit_code=data.HENGCHANG_CODE)
    text = docx_text(content)
    assert LookupAudit.objects.get(action="report").report_number in text
    for expected in EXPECTED:
        assert expected in text, expected


def test_each_report_gets_its_own_number(client, users, dataset):
    client.force_login(users["office"])
    download(client, "pdf", credit_code=data.HENGCHANG_CODE)
    download(client, "docx", credit_code=data.HENGCHANG_CODE)
    numbers = list(LookupAudit.objects.filter(action="report").values_list("report_number", flat=True))
    assert len(set(numbers)) == 2


def test_a_report_as_of_an_earlier_date_leaves_out_later_records_and_marks(client, users, dataset, tmp_path):
    client.force_login(users["office"])
    _, content = download(client, "pdf", as_of=datetime.date(2019, 8, 8), credit_code=data.HENGCHANG_CODE)
    text = pdf_text(content, tmp_path)
    assert "2019年08月08日" in text and "营罚〔2019〕1号" in text and "营黑〔2019〕1号" not in text
    assert "有行政处罚记录" in text and "列入黑名单；" not in text


def test_a_penalty_past_its_publicity_is_said_so(client, users, dataset):
    client.force_login(users["office"])
    _, content = download(client, "docx", credit_code=data.JIANCAI_CODE)
    text = docx_text(content)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    assert f"{yesterday:%Y-%m-%d}，已过公示期" in text and "无不良记录；列入红名单" in text


def test_a_units_report_masks_the_id_number_and_the_offices_does_not(client, users, dataset, tmp_path):
    LookupGrant.objects.create(unit=Unit.objects.get(code="D02"))
    client.force_login(users["other_dept"])
    _, content = download(client, "pdf", id_number=data.PERSON_ID)
    text = pdf_text(content, tmp_path)
    assert data.PERSON_ID not in text and mask_id_number(data.PERSON_ID) in text
    assert data.PERSON_ID not in docx_text(download(client, "docx", id_number=data.PERSON_ID)[1])
    client.force_login(users["office"])
    assert data.PERSON_ID in docx_text(download(client, "docx", id_number=data.PERSON_ID)[1])


def test_text_that_looks_like_markup_is_printed_as_text(client, users, upload, tmp_path):
    report = services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period())
    name = "A&B<img src=file:///etc/passwd>公司"
    upload(report, "local_redlist", xlsx_bytes("subject", [record("subject", 7, subject_name=name)]))
    services.report_accept(report=services.report_submit(report=report, user=None, confirm_nil=True), user=None)
    client.force_login(users["office"])
    assert re.sub(r"\s+", "", name) in pdf_text(download(client, "pdf", subject_name=name)[1], tmp_path)
    assert re.sub(r"\s+", "", name) in docx_text(download(client, "docx", subject_name=name)[1])
