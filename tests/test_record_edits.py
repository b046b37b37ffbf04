"""Fixing single records in place: in a month the unit may still change, with the upload's field rules,
an audit entry per change, and never a record of another unit."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting import services
from reporting.models import AuditEvent, Record, ReportEntry, ReportStatus, Unit
from reporting.services import RecordInvalid, ServiceError

from .factories import VALID_ID, period, record, records, resident_id, xlsx_bytes

pytestmark = pytest.mark.django_db

BAD_CODE = "91110000600037341A"  # wrong check character


def opened(report):
    return services.report_grant_exception(report=report, user=None,
                                           until=timezone.localdate() + datetime.timedelta(days=30))


@pytest.fixture
def report(dept_report, upload, users):
    """D01's August 2019 with three licences, the second one for a person (证件号码 set)."""
    report = opened(dept_report)
    rows = records("license", 3)
    rows[1] = record("license", 1, subject_type="自然人", credit_code="", id_type="居民身份证", id_number=VALID_ID)
    upload(report, "admin_license", xlsx_bytes("license", rows), user=users["dept"])
    return report


def nth(report, n):
    return Record.objects.filter(report=report).order_by("row_number")[n]


def entry(report):
    return ReportEntry.objects.get(report=report, category__code="admin_license")


def edit_url(rec):
    return reverse("record_edit", args=[rec.unit.code, rec.report.period_code, rec.category.code, rec.pk])


def delete_url(rec):
    return reverse("record_delete", args=[rec.unit.code, rec.report.period_code, rec.category.code, rec.pk])


def form_data(rec, **changes):
    """What the edit page posts: every field as shown (证件号码 left empty: unit staff see it masked)."""
    data = {key: "" if value is None else str(value) for key, value in rec.data.items()}
    data["id_number"] = ""
    data.update(changes)
    return data


# --- the service ---------------------------------------------------------------------------


def test_a_corrected_value_is_stored_normalised_in_data_and_columns(report, users):
    rec = nth(report, 0)
    rec, changes = services.record_update(record=rec, values={"subject_name": "  营口市新名称有限公司 ",
                                                              "decision_date": "2019年8月6日"}, user=users["dept"])
    rec.refresh_from_db()
    assert rec.subject_name == "营口市新名称有限公司" == rec.data["subject_name"]
    assert rec.data["decision_date"] == "2019-08-06" and rec.record_date == datetime.date(2019, 8, 6)
    assert set(changes) == {"行政相对人名称", "许可决定日期"}


def test_each_change_is_audited_with_old_and_new_values(report, users):
    rec = nth(report, 0)
    services.record_update(record=rec, values={"content": "新的许可内容"}, user=users["dept"])
    event = AuditEvent.objects.get(action=AuditEvent.Action.RECORD_EDITED)
    assert (event.actor, event.report, event.category.code) == (users["dept"], report, "admin_license")
    assert event.details["changes"] == {"许可内容": ["预包装食品销售", "新的许可内容"]}
    assert event.details["record"] == rec.pk and "第 2 行" in event.message


def test_an_edit_that_changes_nothing_writes_nothing(report, users):
    rec = nth(report, 0)
    _, changes = services.record_update(record=rec, values={"subject_name": rec.subject_name}, user=users["dept"])
    assert changes == {}
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RECORD_EDITED).exists()


@pytest.mark.parametrize("values, column, message", [
    ({"credit_code": BAD_CODE}, "统一社会信用代码", "校验位错误"),
    ({"content": ""}, "许可内容", "必填项不能为空"),
    ({"decision_date": "2019-02-30"}, "许可决定日期", ""),
    ({"valid_to": "2019-01-01"}, "有效期至", "不能早于有效期自"),
    ({"decision_date": "2099-01-01"}, "许可决定日期", "晚于今天"),
    ({"status": "x"}, "当前状态", "不是可选值"),
    ({"subject_type": "法人及非法人组织", "credit_code": ""}, "统一社会信用代码", ""),
])
def test_the_uploads_rules_refuse_a_bad_edit_and_nothing_changes(report, users, values, column, message):
    rec = nth(report, 0)
    before = dict(rec.data)
    with pytest.raises(RecordInvalid) as refused:
        services.record_update(record=rec, values=values, user=users["dept"])
    assert any(e["column"] == column and message in e["message"] for e in refused.value.errors), refused.value.errors
    rec.refresh_from_db()
    assert rec.data == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RECORD_EDITED).exists()


def test_national_spellings_are_stored_canonical_as_on_upload(report, users):
    rec = nth(report, 0)
    rec, _ = services.record_update(record=rec, values={"subject_type": "法人和非法人组织"}, user=users["dept"])
    assert rec.data["subject_type"] == "法人及非法人组织"


def test_a_doc_number_of_another_record_of_the_unit_is_refused(report, users):
    first, second = nth(report, 0), nth(report, 1)
    with pytest.raises(RecordInvalid, match="已在本单位本类别报送过"):
        services.record_update(record=second, values={"doc_number": first.doc_number}, user=users["dept"])


def test_a_doc_number_of_another_month_is_refused_too(report, users, upload):
    september = opened(services.report_get_or_create(unit=report.unit, period=period(2019, 9)))
    upload(september, "admin_license", xlsx_bytes("license", records("license", 1, start=50)))
    with pytest.raises(RecordInvalid, match="已在本单位本类别报送过"):
        services.record_update(record=nth(report, 0), values={"doc_number": "营测〔2019〕50号"}, user=users["dept"])


def test_the_masked_id_number_is_kept_when_left_out_and_checked_when_typed(report, users):
    person = nth(report, 1)
    services.record_update(record=person, values={"legal_rep": ""}, user=users["dept"])
    person.refresh_from_db()
    assert person.id_number == VALID_ID
    with pytest.raises(RecordInvalid, match="校验"):
        services.record_update(record=person, values={"id_number": VALID_ID[:-1] + "1"}, user=users["dept"])
    services.record_update(record=person, values={"id_number": resident_id(7)}, user=users["dept"])
    event = AuditEvent.objects.filter(action=AuditEvent.Action.RECORD_EDITED).order_by("id").last()
    assert "证件号码" in event.details["changes"]
    assert VALID_ID not in event.message and resident_id(7) not in str(event.details)  # masked in the trail


def test_delete_removes_one_record_recounts_and_audits(report, users):
    rec = nth(report, 2)
    assert services.record_delete(record=rec, user=users["dept"]) == 2
    assert entry(report).record_count == 2
    assert not Record.objects.filter(pk=rec.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.RECORD_DELETED)
    assert event.details["doc_number"] == rec.doc_number and event.actor == users["dept"]


def test_deleting_the_last_record_leaves_the_category_untouched_not_nil(report, users):
    for rec in list(Record.objects.filter(report=report)):
        services.record_delete(record=rec, user=users["dept"])
    assert (entry(report).record_count, entry(report).is_nil, entry(report).is_filled) == (0, False, False)


@pytest.mark.parametrize("status", [ReportStatus.SUBMITTED, ReportStatus.ACCEPTED])
def test_a_submitted_or_accepted_month_refuses_edits_and_deletes(report, users, status):
    services.report_submit(report=report, user=None, confirm_nil=True)
    if status == ReportStatus.ACCEPTED:
        services.report_accept(report=report, user=users["office"])
    rec = nth(report, 0)
    with pytest.raises(ServiceError, match="不能修改数据"):
        services.record_update(record=rec, values={"content": "改"}, user=users["dept"])
    with pytest.raises(ServiceError, match="不能修改数据"):
        services.record_delete(record=rec, user=users["dept"])
    assert Record.objects.filter(report=report).count() == 3


def test_past_the_lock_day_the_unit_cannot_edit(dept_report, upload, users):
    upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 1)))  # operator, no lock day
    with pytest.raises(ServiceError, match="已过锁定日"):
        services.record_update(record=nth(dept_report, 0), values={"content": "改"}, user=users["dept"])


# --- the pages ----------------------------------------------------------------------------


@pytest.fixture
def dept_client(client, users):
    client.force_login(users["dept"])
    return client


def test_records_browser_offers_edit_and_delete_in_an_editable_month(dept_client, report):
    rec = nth(report, 0)
    page = dept_client.get(reverse("report_records", args=["D01", "2019-08", "admin_license"])).content.decode()
    assert edit_url(rec) in page and delete_url(rec) in page


def test_records_browser_offers_nothing_once_submitted(dept_client, report):
    services.report_submit(report=report, user=None, confirm_nil=True)
    rec = nth(report, 0)
    page = dept_client.get(reverse("report_records", args=["D01", "2019-08", "admin_license"])).content.decode()
    assert edit_url(rec) not in page and delete_url(rec) not in page


def test_edit_page_shows_the_id_number_masked_to_unit_staff(dept_client, client, users, report):
    person = nth(report, 1)
    page = dept_client.get(edit_url(person)).content.decode()
    assert VALID_ID not in page and "110105********002X（不修改请留空）" in page
    client.force_login(users["office"])
    assert VALID_ID in client.get(edit_url(person)).content.decode()


def test_saving_the_form_corrects_the_record(dept_client, report):
    rec = nth(report, 0)
    response = dept_client.post(edit_url(rec), form_data(rec, content="更正后的内容"), follow=True)
    rec.refresh_from_db()
    assert rec.data["content"] == "更正后的内容"
    assert "已修改第 2 行" in response.content.decode()


def test_the_form_shows_each_error_at_its_field_and_stores_nothing(dept_client, report):
    rec = nth(report, 0)
    response = dept_client.post(edit_url(rec), form_data(rec, credit_code=BAD_CODE, content=""))
    page = response.content.decode()
    assert response.status_code == 200
    assert "这条记录有 2 处需要改正" in page and "校验位错误" in page and "必填项不能为空" in page
    rec.refresh_from_db()
    assert rec.data["content"] == "预包装食品销售"


def test_delete_button_deletes(dept_client, report):
    rec = nth(report, 0)
    response = dept_client.post(delete_url(rec), follow=True)
    assert not Record.objects.filter(pk=rec.pk).exists()
    assert "“行政许可”现有 2 条记录" in response.content.decode()


def test_another_units_records_are_404_to_read_edit_or_delete(client, users, report):
    rec = nth(report, 0)
    client.force_login(users["other_dept"])
    assert client.get(edit_url(rec)).status_code == 404
    assert client.post(edit_url(rec), form_data(rec, content="x")).status_code == 404
    assert client.post(delete_url(rec)).status_code == 404
    # The record through D02's own month URL is not found either: records are scoped to the report.
    d02 = services.report_get_or_create(unit=Unit.objects.get(code="D02"), period=period())
    own_url = reverse("record_edit", args=["D02", "2019-08", "admin_license", rec.pk])
    assert d02.pk and client.get(own_url).status_code == 404
    assert client.post(reverse("record_delete", args=["D02", "2019-08", "admin_license", rec.pk])).status_code == 404
    assert Record.objects.filter(pk=rec.pk, data__contains="预包装食品销售").exists()


def test_viewing_the_edit_page_writes_nothing(dept_client, report):
    rec = nth(report, 0)
    before = AuditEvent.objects.count()
    assert dept_client.get(edit_url(rec)).status_code == 200
    assert AuditEvent.objects.count() == before
