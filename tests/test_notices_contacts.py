"""Unit contacts in the admin: Excel import/export (all or nothing), addresses validated; reminder rules edited there."""

import io

import openpyxl
import pytest
from django.urls import reverse

from notices.models import ReminderLog, ReminderRule, UnitContact
from notices.resources import UnitContactResource
from reporting.models import Unit
from reporting.resources import SafeXLSX

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


def workbook_bytes(rows):
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def as_dataset(rows):
    return SafeXLSX().create_dataset(workbook_bytes(rows))


HEADER = ("单位编码", "单位名称", "联系人", "联系电话", "电子邮件", "备注")


def test_contacts_import_creates_and_updates_by_unit_code(reference):
    UnitContact.objects.create(unit=Unit.objects.get(code="D01"), person="旧联系人")
    rows = [HEADER, ("d01", "", "王科长", "0417-1234567", "wang@example.gov.cn；li@example.gov.cn", ""),
            ("C01", "鲅鱼圈区", "张主任", "0417-7654321", "", "周一至周五")]
    result = UnitContactResource().import_data(as_dataset(rows), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    d01 = UnitContact.objects.get(unit__code="D01")
    assert (d01.person, d01.email_list) == ("王科长", ["wang@example.gov.cn", "li@example.gov.cn"])
    assert UnitContact.objects.get(unit__code="C01").note == "周一至周五"


def test_a_file_with_one_bad_row_imports_nothing(reference):
    rows = [HEADER, ("D01", "", "王科长", "", "wang@example.gov.cn", ""),
            ("D02", "", "李科长", "", "不是邮箱", ""),
            ("X99", "", "赵", "", "", "")]
    result = UnitContactResource().import_data(as_dataset(rows), dry_run=False)
    assert result.has_validation_errors() and result.has_errors()
    invalid = str([row.error_dict for row in result.invalid_rows])
    errors = str([str(e.error) for row in result.rows for e in row.errors])
    assert "以下电子邮件地址格式不正确：不是邮箱" in invalid and "没有编码为“X99”的信源单位" in errors
    assert not UnitContact.objects.exists()


def test_contacts_export_as_xlsx(reference):
    UnitContact.objects.create(unit=Unit.objects.get(code="D01"), person="=cmd()", phone="0417",
                               emails="wang@example.gov.cn")
    content = SafeXLSX().export_data(UnitContactResource().export())
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.values)
    assert rows[0] == HEADER
    assert rows[1][:3] == ("D01", "市行政审批局", "=cmd()")
    assert sheet["C2"].data_type == "s"  # text, not a formula


def test_admin_pages_of_the_notices_app_load(admin_client, users):
    UnitContact.objects.create(unit=Unit.objects.get(code="D01"), person="王科长")
    for name in ("unitcontact", "reminderrule", "reminderlog", "reminderjob", "notification"):
        assert admin_client.get(reverse(f"admin:notices_{name}_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:notices_unitcontact_import")).status_code == 200


def test_admin_edits_a_reminder_rule(admin_client):
    rule = ReminderRule.objects.get(kind="reminder")
    response = admin_client.post(reverse("admin:notices_reminderrule_change", args=[rule.pk]),
                                 {"kind": "reminder", "days": "5", "is_active": "on", "note": "请按时报送"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.days, rule.note) == (5, "请按时报送")


def test_an_overdue_rule_on_the_deadline_itself_is_refused(admin_client):
    response = admin_client.post(reverse("admin:notices_reminderrule_add"), {"kind": "overdue", "days": "0"})
    assert "逾期催报至少在截止日后 1 天发送" in response.content.decode()


def test_reminder_logs_are_read_only_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:notices_reminderlog_add")).status_code == 403
    assert not ReminderLog.objects.exists()
