"""The Django admin: every page loads, and the Excel import/export of the reference data is all or nothing."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse

from reporting.models import (
    AuditEvent,
    Category,
    Deadline,
    ImportBatch,
    MonthlyReport,
    Record,
    Unit,
    User,
)
from reporting.resources import CategoryResource, SafeCSV, SafeXLSX, UnitResource, UserResource

from .factories import records, xlsx_bytes

MODELS = ["unit", "category", "user", "deadline", "monthlyreport", "importbatch", "record", "auditevent"]


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


@pytest.fixture
def imported(dept_report, upload):
    """D01's August report with one good and one failed upload."""
    upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 3)))
    return upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 2, status="x")))


def sheet_rows(content):
    return list(openpyxl.load_workbook(io.BytesIO(content)).active.values)


def workbook_bytes(rows):
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def as_dataset(rows):
    return SafeXLSX().create_dataset(workbook_bytes(rows))


def exported_units():
    return sheet_rows(SafeXLSX().export_data(UnitResource().export()))


# --- pages ------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_changelist_loads_for_the_admin(admin_client, imported, model):
    response = admin_client.get(reverse(f"admin:reporting_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_changelist_search_loads(admin_client, imported, model):
    response = admin_client.get(reverse(f"admin:reporting_{model}_changelist"), {"q": "市审批局"})
    assert response.status_code == 200


def test_detail_pages_load(admin_client, imported, dept_report, users):
    pages = [
        reverse("admin:reporting_monthlyreport_change", args=[dept_report.pk]),
        reverse("admin:reporting_importbatch_change", args=[imported.pk]),
        reverse("admin:reporting_record_change", args=[Record.objects.first().pk]),
        reverse("admin:reporting_auditevent_change", args=[AuditEvent.objects.first().pk]),
        reverse("admin:reporting_user_change", args=[users["dept"].pk]),
        reverse("admin:reporting_unit_change", args=[Unit.objects.get(code="D01").pk]),
        reverse("admin:reporting_category_change", args=[Category.objects.get(code="admin_license").pk]),
        reverse("admin:reporting_user_add"),
        reverse("admin:reporting_unit_add"),
        reverse("admin:reporting_deadline_add"),
        reverse("admin:reporting_unit_import"),
        reverse("admin:reporting_unit_export"),
        reverse("admin:reporting_user_import"),
        reverse("admin:reporting_category_export"),
    ]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url


def test_report_page_shows_entries_and_audit_trail(admin_client, imported, dept_report):
    response = admin_client.get(reverse("admin:reporting_monthlyreport_change", args=[dept_report.pk]))
    content = response.content.decode()
    assert "行政许可" in content
    assert "导入未通过" in content


def test_batch_page_shows_the_first_errors(admin_client, imported):
    response = admin_client.get(reverse("admin:reporting_importbatch_change", args=[imported.pk]))
    assert "第 2 行【当前状态】“x”不是可选值" in response.content.decode()


def test_service_written_rows_cannot_be_added_changed_or_deleted(admin_client, imported):
    assert admin_client.get(reverse("admin:reporting_importbatch_add")).status_code == 403
    assert admin_client.get(reverse("admin:reporting_record_add")).status_code == 403
    assert admin_client.get(reverse("admin:reporting_auditevent_add")).status_code == 403
    assert admin_client.get(reverse("admin:reporting_monthlyreport_add")).status_code == 403
    event = AuditEvent.objects.first()
    url = reverse("admin:reporting_auditevent_delete", args=[event.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    record = Record.objects.first()
    response = admin_client.post(reverse("admin:reporting_record_change", args=[record.pk]), {"subject_name": "x"})
    assert response.status_code == 403
    assert Record.objects.get(pk=record.pk).subject_name == record.subject_name


def test_unit_reporters_and_reviewers_have_no_admin(client, users):
    for name in ("dept", "office"):
        client.force_login(users[name])
        response = client.get(reverse("admin:reporting_unit_changelist"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def management_data(response):
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, field in formset.management_form.fields.items():
            data[f"{formset.prefix}-{name}"] = formset.management_form.initial.get(name, field.initial)
        for index, form in enumerate(formset.initial_forms):
            data[f"{formset.prefix}-{index}-id"] = form.instance.pk
            data[f"{formset.prefix}-{index}-report"] = form.instance.report_id
    return data


def test_edit_exception_set_in_the_admin_is_audited(admin_client, dept_report, users):
    url = reverse("admin:reporting_monthlyreport_change", args=[dept_report.pk])
    data = management_data(admin_client.get(url))
    data["edit_exception_until"] = "2019-10-15"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "特许修改截止日（2019-10-15）已过" in response.content.decode()
    assert MonthlyReport.objects.get(pk=dept_report.pk).edit_exception_until is None
    until = datetime.date.today() + datetime.timedelta(days=20)
    data["edit_exception_until"] = until.isoformat()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert MonthlyReport.objects.get(pk=dept_report.pk).edit_exception_until == until
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXCEPTION)
    assert (event.actor, event.message) == (users["admin"], f"允许单位修改至 {until:%Y-%m-%d}")


def test_deadline_lock_day_before_due_day_is_refused(admin_client):
    response = admin_client.post(reverse("admin:reporting_deadline_add"), {
        "period": "2019-08-15", "due_date": "2019-09-10", "lock_date": "2019-09-05",
    })
    assert response.status_code == 200
    assert "锁定日不能早于报送截止日" in response.content.decode()
    response = admin_client.post(reverse("admin:reporting_deadline_add"), {
        "period": "2019-08-15", "due_date": "2019-09-10", "lock_date": "2019-09-20",
    })
    assert response.status_code == 302
    assert Deadline.objects.get().period == datetime.date(2019, 8, 1)


# --- units: export and import ---------------------------------------------------------


def test_units_export_as_xlsx_has_63_rows(reference):
    rows = exported_units()
    assert rows[0] == ("编码", "简称", "全称", "类型", "排序", "启用")
    assert len(rows) == 1 + 63
    assert rows[1] == ("D01", "市审批局", "市行政审批局", "市有关部门", 1, "是")
    assert sorted({r[3] for r in rows[1:]}) == ["县（市）区", "园区", "市有关部门"]


def test_units_export_through_the_admin(admin_client):
    fields = {f"unitresource_{name}": "on" for name in UnitResource.Meta.fields}
    response = admin_client.post(reverse("admin:reporting_unit_export"), {"format": "0", "resource": "0", **fields})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    rows = sheet_rows(response.content)
    assert len(rows) == 64
    assert {r[0] for r in rows[1:]} == set(Unit.objects.values_list("code", flat=True))


def test_unit_import_with_one_invalid_row_imports_nothing(reference):
    rows = exported_units()
    rows[1] = ("D01", "审批局（改）", *rows[1][2:])
    rows[2] = (rows[2][0], rows[2][1], rows[2][2], "xxx", *rows[2][4:])
    rows.append(("D99", "新部门", "市新部门", "市有关部门", 99, "是"))
    result = UnitResource().import_data(as_dataset(rows), dry_run=False, rollback_on_validation_errors=True)
    assert result.has_validation_errors()
    assert [row.number for row in result.invalid_rows] == [2]
    assert "kind" in result.invalid_rows[0].error_dict
    assert Unit.objects.count() == 63
    assert Unit.objects.get(code="D01").short_name == "市审批局"
    assert Unit.objects.get(code="D02").kind == "department"


def test_unit_import_rolls_back_by_default_too(reference):
    """Meta.rollback_on_validation_errors is honoured even when the caller does not pass it."""
    rows = exported_units()
    rows[1] = ("D01", "审批局（改）", *rows[1][2:])
    rows[3] = (rows[3][0], "", *rows[3][2:])  # 简称 is required
    result = UnitResource().import_data(as_dataset(rows), dry_run=False)
    assert result.has_validation_errors()
    assert Unit.objects.get(code="D01").short_name == "市审批局"


def test_unit_import_with_a_bad_number_imports_nothing(reference):
    rows = exported_units()
    rows[1] = ("D01", "审批局（改）", *rows[1][2:])
    rows[5] = (*rows[5][:4], "第五", rows[5][5])
    result = UnitResource().import_data(as_dataset(rows), dry_run=False)
    assert result.has_validation_errors()
    assert "“第五”应为整数" in str(result.invalid_rows[0].error_dict)
    assert Unit.objects.get(code="D01").short_name == "市审批局"


def test_valid_unit_import_updates_and_adds_and_skips_unchanged_rows(reference):
    rows = exported_units()
    rows[1] = ("d01 ", "审批局", *rows[1][2:])  # code typed in lower case with a space
    rows.append(("D53", "新部门", "市新部门", "department", 53, ""))
    result = UnitResource().import_data(as_dataset(rows), dry_run=False, rollback_on_validation_errors=True)
    assert not result.has_errors() and not result.has_validation_errors()
    assert (result.totals["update"], result.totals["new"], result.totals["skip"]) == (1, 1, 62)
    assert Unit.objects.get(code="D01").short_name == "审批局"
    new = Unit.objects.get(code="D53")
    assert (new.kind, new.order, new.is_active) == ("department", 53, True)
    assert Unit.objects.count() == 64


def test_partial_columns_update_only_those_columns(reference):
    result = UnitResource().import_data(as_dataset([("编码", "简称"), ("C01", "鲅鱼圈区")]), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    c01 = Unit.objects.get(code="C01")
    assert (c01.short_name, c01.kind) == ("鲅鱼圈区", "county")


def test_dry_run_changes_nothing(reference):
    rows = exported_units()
    rows[1] = ("D01", "审批局", *rows[1][2:])
    result = UnitResource().import_data(as_dataset(rows), dry_run=True)
    assert result.totals["update"] == 1
    assert Unit.objects.get(code="D01").short_name == "市审批局"


def test_unit_import_through_the_admin_refuses_a_file_with_errors(admin_client):
    rows = exported_units()
    rows[1] = ("D01", "审批局", *rows[1][2:])
    rows[2] = (*rows[2][:3], "xxx", *rows[2][4:])
    upload = io.BytesIO(workbook_bytes(rows))
    upload.name = "units.xlsx"
    response = admin_client.post(reverse("admin:reporting_unit_import"),
                                 {"format": "0", "resource": "0", "import_file": upload})
    assert response.status_code == 200
    assert response.context["result"].has_validation_errors()
    assert "confirm_form" not in response.context
    assert Unit.objects.get(code="D01").short_name == "市审批局"


def test_unit_import_through_the_admin_after_confirmation(admin_client):
    rows = exported_units()
    rows[1] = ("D01", "审批局", *rows[1][2:])
    upload = io.BytesIO(workbook_bytes(rows))
    upload.name = "units.xlsx"
    response = admin_client.post(reverse("admin:reporting_unit_import"),
                                 {"format": "0", "resource": "0", "import_file": upload})
    confirm = response.context["confirm_form"]
    assert Unit.objects.get(code="D01").short_name == "市审批局"  # the first step is a dry run
    response = admin_client.post(reverse("admin:reporting_unit_process_import"), confirm.initial)
    assert response.status_code == 302
    assert Unit.objects.get(code="D01").short_name == "审批局"


def test_exported_text_is_never_a_formula(reference):
    Unit.objects.filter(code="D01").update(short_name="=HYPERLINK(\"http://x\",\"点我\")", name="+1-2")
    workbook = openpyxl.load_workbook(io.BytesIO(SafeXLSX().export_data(UnitResource().export())))
    row = next(r for r in workbook.active.iter_rows(min_row=2) if r[0].value == "D01")
    assert row[1].data_type == "s"
    assert row[1].value == "=HYPERLINK(\"http://x\",\"点我\")"
    csv_text = SafeCSV().export_data(UnitResource().export())
    assert "'=HYPERLINK" in csv_text
    assert "'+1-2" in csv_text


# --- categories ----------------------------------------------------------------------


def test_categories_export_and_reimport_unchanged(reference):
    dataset = CategoryResource().export()
    rows = sheet_rows(SafeXLSX().export_data(dataset))
    assert rows[0] == ("编码", "名称", "填报方式", "记录格式", "适用单位类型", "排序", "启用")
    assert len(rows) == 24
    assert rows[1][:5] == ("admin_license", "行政许可", "逐条记录（Excel 上传）", "行政许可", "department county park")
    result = CategoryResource().import_data(as_dataset(rows), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["skip"] == 23


def test_category_import_checks_kinds_and_schema(reference):
    rows = [
        ("编码", "名称", "填报方式", "记录格式", "适用单位类型", "排序", "启用"),
        ("new_one", "新类别", "records", "subject", "市有关部门、county", 30, "是"),
        ("bad_kind", "坏类别", "records", "subject", "city", 31, "是"),
        ("no_schema", "缺格式", "records", "", "park", 32, "是"),
    ]
    result = CategoryResource().import_data(as_dataset(rows), dry_run=False)
    assert [row.number for row in result.invalid_rows] == [2, 3]
    assert "未知的单位类型：city" in str(result.invalid_rows[0].error_dict)
    assert "逐条记录类别必须选择记录格式" in str(result.invalid_rows[1].error_dict)
    assert Category.objects.count() == 23
    result = CategoryResource().import_data(as_dataset(rows[:2]), dry_run=False)
    assert not result.has_validation_errors()
    assert Category.objects.get(code="new_one").applies_to == "department county"


# --- users ---------------------------------------------------------------------------


def test_users_export_units_by_code_and_never_passwords(users):
    content = SafeXLSX().export_data(UserResource().export())
    rows = sheet_rows(content)
    assert rows[0] == ("用户名", "姓名", "电子邮件", "所属单位编码", "用户组", "启用")
    by_name = {r[0]: r for r in rows[1:]}
    assert len(by_name) == 65
    assert by_name["d01"][3] == "D01"
    assert by_name["office"][3] in (None, "")
    assert by_name["office"][4] == "信用办审核员"
    text = repr(rows)
    for user in User.objects.all():
        assert user.password not in text
    assert "password" not in text and "密码" not in text


def test_user_import_creates_users_without_a_usable_password(users):
    rows = [
        ("用户名", "姓名", "所属单位编码", "用户组", "password"),
        ("d01b", "市审批局第二填报员", "d01", "", "md5$abc$def"),
        ("office2", "信用办审核员二", "", "信用办审核员", ""),
    ]
    result = UserResource().import_data(as_dataset(rows), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors(), result.invalid_rows
    d01b = User.objects.get(username="d01b")
    assert d01b.unit.code == "D01"
    assert not d01b.has_usable_password()
    office2 = User.objects.get(username="office2")
    assert office2.unit is None
    assert office2.is_office is True
    assert not office2.has_usable_password()


def test_user_import_never_touches_existing_passwords(users):
    before = User.objects.get(username="d02").password
    rows = [("用户名", "姓名", "所属单位编码"), ("d02", "新名字", "D02")]
    UserResource().import_data(as_dataset(rows), dry_run=False)
    d02 = User.objects.get(username="d02")
    assert d02.display_name == "新名字"
    assert d02.password == before
    assert d02.check_password("demo12345")


def test_user_import_with_an_unknown_unit_or_group_imports_nothing(users):
    rows = [
        ("用户名", "姓名", "所属单位编码", "用户组"),
        ("d01", "改名", "D01", ""),
        ("x1", "新人", "D99", ""),
        ("x2", "新人二", "", "不存在的组"),
    ]
    result = UserResource().import_data(as_dataset(rows), dry_run=False)
    errors = {row.number: str(row.error_dict) for row in result.invalid_rows}
    assert "没有编码为“D99”的信源单位" in errors[2]
    assert "没有名为“不存在的组”的用户组" in errors[3]
    assert User.objects.get(username="d01").display_name == "市审批局填报员"
    assert not User.objects.filter(username__in=["x1", "x2"]).exists()


def test_user_changelist_filters_by_unit_kind(admin_client):
    response = admin_client.get(reverse("admin:reporting_user_changelist"), {"unit__kind": "county"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 6


def test_report_changelist_filters(admin_client, dept_report):
    url = reverse("admin:reporting_monthlyreport_changelist")
    response = admin_client.get(url, {"status": "draft", "unit__kind": "department", "period": "2019-08-01"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert ImportBatch.objects.count() == 0


def test_admin_adds_a_reporter_with_unit_and_name(admin_client):
    response = admin_client.post(reverse("admin:reporting_user_add"), {
        "username": "d01c", "usable_password": "true", "password1": "Yk-2019-credit", "password2": "Yk-2019-credit",
        "unit": Unit.objects.get(code="D01").pk, "display_name": "王五",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="d01c")
    assert (user.unit.code, user.display_name, user.is_office) == ("D01", "王五", False)
    assert user.check_password("Yk-2019-credit")


def test_blank_rows_in_an_admin_spreadsheet_are_ignored(reference):
    rows = exported_units() + [(None,) * 6, ("",) * 6]
    result = UnitResource().import_data(as_dataset(rows), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["skip"] == 63


def test_admin_import_refuses_a_zip_bomb_before_parsing(admin_client, settings):
    import zipfile

    settings.UPLOAD_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 * 1024 * 1024))
    out.seek(0)
    out.name = "units.xlsx"
    response = admin_client.post(reverse("admin:reporting_unit_import"),
                                 {"format": "0", "resource": "0", "import_file": out})
    assert response.status_code == 200
    assert "文件解压后体积过大，已拒绝处理" in response.content.decode()
    assert Unit.objects.count() == 63
