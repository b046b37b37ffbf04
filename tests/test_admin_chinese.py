"""The administrator's screens in Chinese, and admin forms that refuse what would break the portal.

Every page an administrator opens is scanned for English words in its visible text (and in the admin's
JavaScript catalogue, which labels the group and permission pickers); data values (codes, usernames,
file formats) are not words to translate.
"""

import datetime
import io
import re
from html.parser import HTMLParser

import openpyxl
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reporting.models import AuditEvent, Category, Deadline, ImportBatch, MonthlyReport, Record, Unit, User

from .factories import records, xlsx_bytes

pytestmark = pytest.mark.django_db

WORD = re.compile(r"[A-Za-z][A-Za-z'’]+(?:\s+[A-Za-z'’]+)*")
# Not words to translate: data, formats and names that are English in Chinese software too.
ALLOWED = {
    "Excel", "xlsx", "csv", "CSV", "XLSX", "SHA", "ID", "JSON", "WPS", "Django", "django-import-export",
    "YYYY-MM-DD", "YYYY", "MM", "DD", "PDF", "DOCX", "IP", "URL", "UTC", "PNG", "UTF",
    # Inside Django's own Chinese: 按住“Control”，或者Mac上的“Command”…; 单点登录或 LDAP.
    "Control", "Command", "Mac", "LDAP",
}


class VisibleText(HTMLParser):
    """Text a user reads: text nodes outside <script>/<style>, titles, placeholders, labels of buttons.
    (Not the alt text of Django's icons — "True", "Search" — which nobody sees.)"""

    SKIP = {"script", "style", "template", "code", "pre", "textarea"}

    def __init__(self):
        super().__init__()
        self.skip, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        attrs = dict(attrs)
        for name in ("title", "placeholder", "aria-label"):
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def english(html, data_words=()):
    parser = VisibleText()
    parser.feed(html)
    found = set()
    for part in parser.parts:
        for match in WORD.finditer(part):
            word = match.group()
            if part[match.end():match.end() + 1] == "*":  # a masked value (the password hash summary: qX******)
                continue
            if all(w in ALLOWED or w in data_words or w.lower() in data_words for w in word.split()):
                continue
            found.add(word)
    return found


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


@pytest.fixture
def world(dept_report, upload, users):
    """A report with a good and a failed upload, an audit trail, a deadline and a group."""
    upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 3)))
    upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 2, status="x")))
    Deadline.objects.create(period=datetime.date(2019, 8, 1), due_date=datetime.date(2019, 9, 5),
                            lock_date=datetime.date(2019, 9, 25))
    Group.objects.get_or_create(name="审核员")
    return dept_report


def data_words():
    """Codes, usernames and other values shown as data."""
    words = set(Unit.objects.values_list("code", flat=True))
    words |= {w for code in Category.objects.values_list("code", flat=True) for w in (code, *code.split("_"))}
    words |= set(User.objects.values_list("username", flat=True))
    words |= {"department", "county", "park", "license", "penalty", "subject", "activity", "records", "count",
              "upload", "uploads", "replace", "append", "x", "unknown",
              # formula codes an administrator types into a statistics column (=monthly_reports, =row_total)
              "monthly", "reports", "row", "total"}
    # Stored values: file names and digests, record contents, password hash summaries.
    texts = [*ImportBatch.objects.values_list("sha256", flat=True), *ImportBatch.objects.values_list("file", flat=True),
             *Record.objects.values_list("data", flat=True), *User.objects.values_list("password", flat=True)]
    words |= {w for text in texts for w in re.findall(r"[A-Za-z]+", str(text))}
    return {w.lower() for w in words} | words


def admin_pages(world, users):
    """The pages of the reporting app's admin, with a row of each kind to open."""
    report = world
    batch = ImportBatch.objects.first()
    pages = [reverse("admin:index"), reverse("admin:password_change")]
    for model in ("unit", "category", "user", "deadline", "monthlyreport", "importbatch", "record", "auditevent",
                  "valuesynonym"):
        pages.append(reverse(f"admin:reporting_{model}_changelist"))
    pages += [
        reverse("admin:reporting_unit_add"), reverse("admin:reporting_category_add"),
        reverse("admin:reporting_user_add"), reverse("admin:reporting_deadline_add"),
        reverse("admin:reporting_unit_change", args=[Unit.objects.get(code="D01").pk]),
        reverse("admin:reporting_category_change", args=[Category.objects.get(code="admin_license").pk]),
        reverse("admin:reporting_user_change", args=[users["dept"].pk]),
        reverse("admin:reporting_user_change", args=[users["admin"].pk]),
        reverse("admin:auth_user_password_change", args=[users["dept"].pk]),
        reverse("admin:reporting_monthlyreport_change", args=[report.pk]),
        reverse("admin:reporting_importbatch_change", args=[batch.pk]),
        reverse("admin:reporting_record_change", args=[Record.objects.first().pk]),
        reverse("admin:reporting_auditevent_change", args=[AuditEvent.objects.first().pk]),
        reverse("admin:reporting_deadline_change", args=[Deadline.objects.get().pk]),
        reverse("admin:auth_group_changelist"), reverse("admin:auth_group_add"),
        reverse("admin:auth_group_change", args=[Group.objects.get(name="审核员").pk]),
        reverse("admin:reporting_unit_import"), reverse("admin:reporting_unit_export"),
        reverse("admin:reporting_category_import"), reverse("admin:reporting_category_export"),
        reverse("admin:reporting_user_import"), reverse("admin:reporting_user_export"),
        reverse("admin:reporting_unit_delete", args=[Unit.objects.order_by("-order").first().pk]),
    ]
    return pages


def test_every_admin_page_reads_in_chinese(admin_client, world, users):
    words = data_words()
    untranslated = {}
    for url in admin_pages(world, users):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        found = english(response.content.decode(), words)
        if found:
            untranslated[url] = sorted(found)
    assert untranslated == {}


def test_every_registered_models_list_and_add_page_reads_in_chinese(admin_client, world):
    from django.contrib import admin

    words = data_words()
    untranslated = {}
    request = type("Request", (), {"user": User.objects.get(username="admin")})()
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls = [reverse(f"{prefix}_changelist")]
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{prefix}_add"))
        for url in urls:
            response = admin_client.get(url)
            assert response.status_code == 200, url
            found = english(response.content.decode(), words)
            if found:
                untranslated[url] = sorted(found)
    assert untranslated == {}


def test_every_app_and_model_of_the_admin_index_is_named_in_chinese(admin_client, world, users):
    response = admin_client.get(reverse("admin:index"))
    for app in response.context["app_list"]:
        assert not WORD.fullmatch(str(app["name"])), app["name"]
        for model in app["models"]:
            assert not WORD.search(str(model["name"])), model["name"]


def test_the_admins_javascript_catalogue_labels_the_pickers_in_chinese(admin_client):
    catalogue = admin_client.get(reverse("admin:jsi18n")).content.decode()
    for msgid in ('Choose %s by selecting them and then select the \\"Choose\\" arrow button.', "Choose all %s",
                  "Remove all %s", "Choose selected %s", "Remove selected %s", "Available %s", "Chosen %s",
                  "Filter"):
        assert f'"{msgid}"' in catalogue, msgid


def test_permission_names_are_shown_in_chinese(admin_client, world):
    response = admin_client.get(reverse("admin:auth_group_add"))
    labels = [label for _, label in response.context["adminform"].form.fields["permissions"].choices]
    assert labels and not any("Can " in str(label) for label in labels)
    assert any(str(label).endswith("新增日志记录") for label in labels) or any("日志记录" in str(x) for x in labels)
    assert "审核月度报表" in " ".join(map(str, labels))
    assert Permission.objects.filter(name__startswith="Can ").exists()  # the database keeps Django's names


def test_failed_import_heading_is_not_garbled(admin_client, world):
    book = openpyxl.Workbook()
    book.active.append(["编码", "简称", "全称", "类型", "排序", "启用"])
    book.active.append(["D01", "审批局", "市行政审批局", "不存在的类型", 1, "是"])
    out = io.BytesIO()
    book.save(out)
    response = admin_client.post(reverse("admin:reporting_unit_import"), {
        "resource": "0", "format": "0", "import_file": SimpleUploadedFile("units.xlsx", out.getvalue()),
    })
    page = response.content.decode()
    assert "某些行验数据证失败" not in page
    assert "部分行未通过校验" in page


# --- 月份, file names and the category's unit kinds -------------------------------------------


def test_months_are_shown_as_year_and_month(admin_client, world):
    page = admin_client.get(reverse("admin:reporting_monthlyreport_changelist")).content.decode()
    assert "2019年8月" in page and "2019年8月1日" not in page
    page = admin_client.get(reverse("admin:reporting_deadline_changelist")).content.decode()
    assert "2019年8月" in page and "2019年8月1日" not in page
    page = admin_client.get(reverse("admin:reporting_monthlyreport_change", args=[world.pk])).content.decode()
    assert "2019年8月1日" not in page


def test_exports_are_named_in_chinese(admin_client, world):
    from reporting.resources import UnitResource

    fields = {f"unitresource_{name}": "on" for name in UnitResource.Meta.fields}
    response = admin_client.post(reverse("admin:reporting_unit_export"), {"format": "0", "resource": "0", **fields})
    disposition = response["Content-Disposition"]
    assert "Unit-" not in disposition
    assert "filename*=utf-8''" in disposition.lower()
    from urllib.parse import unquote

    assert unquote(disposition.split("''", 1)[1]).startswith("信源单位-")


def category_form(admin_client, **changes):
    url = reverse("admin:reporting_category_change", args=[Category.objects.get(code="admin_license").pk])
    data = {"code": "admin_license", "name": "行政许可", "measure": "records", "schema": "license",
            "applies_to": ["department", "county", "park"], "order": "1", "is_active": "on"}
    data.update(changes)
    return admin_client.post(url, data)


def test_category_unit_kinds_are_a_multiple_choice_of_the_real_kinds(admin_client, world):
    page = admin_client.get(reverse("admin:reporting_category_change",
                                    args=[Category.objects.get(code="admin_license").pk])).content.decode()
    for value, label in (("department", "市有关部门"), ("county", "县（市）区"), ("park", "园区")):
        assert f'value="{value}"' in page and label in page
    response = category_form(admin_client, applies_to=["county", "park"])
    assert response.status_code == 302
    assert Category.objects.get(code="admin_license").applies_to == "county park"


@pytest.mark.parametrize("kinds", [[], ["县区 园区"], ["county", "nonsense"]])
def test_a_category_without_valid_unit_kinds_is_refused(admin_client, world, kinds):
    response = category_form(admin_client, applies_to=kinds)
    assert response.status_code == 200
    assert Category.objects.get(code="admin_license").applies_to == "department county park"


def test_the_models_own_check_refuses_unknown_kinds_too():
    from django.core.exceptions import ValidationError

    category = Category(code="x", name="x", measure="count", applies_to="县区 园区")
    with pytest.raises(ValidationError, match="适用单位类型"):
        category.full_clean()


@pytest.mark.parametrize("changes, message", [
    ({"measure": "records", "schema": ""}, "逐条记录类别必须选择记录格式"),
    ({"measure": "count", "schema": ""}, "不能更改填报方式或记录格式"),
    ({"schema": "subject"}, "不能更改填报方式或记录格式"),
])
def test_category_form_refuses_values_that_would_break_the_portal(admin_client, world, changes, message):
    response = category_form(admin_client, **changes)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Category.objects.get(code="admin_license").measure == "records"


def test_a_categorys_code_never_changes_once_created(admin_client, world):
    category_form(admin_client, code="renamed", name="行政许可（改）")
    category = Category.objects.get(name="行政许可（改）")
    assert category.code == "admin_license"


@pytest.mark.parametrize("code, message", [("", "这个字段是必填项。"), ("admin penalty", "编码只能"), ("行政", "编码只能")])
def test_a_new_category_needs_a_code_the_tables_can_name(admin_client, world, code, message):
    response = admin_client.post(reverse("admin:reporting_category_add"), {
        "code": code, "name": "新类别", "measure": "count", "schema": "", "applies_to": ["county"], "order": "30",
        "is_active": "on",
    })
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Category.objects.filter(name="新类别").exists()


def test_a_new_category_with_ticked_kinds_is_created(admin_client, world):
    response = admin_client.post(reverse("admin:reporting_category_add"), {
        "code": "new_count", "name": "新类别", "measure": "count", "schema": "", "applies_to": ["park", "county"],
        "order": "30", "is_active": "on",
    })
    assert response.status_code == 302
    assert Category.objects.get(code="new_count").applies_to == "county park"
    assert Category.objects.for_kind("park").filter(code="new_count").exists()


def test_unit_form_refuses_a_bad_code(admin_client, world):
    url = reverse("admin:reporting_unit_change", args=[Unit.objects.get(code="D01").pk])
    data = {"code": "D 01/x", "short_name": "市审批局", "name": "市行政审批局", "kind": "department", "order": "1",
            "is_active": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "编码只能" in response.content.decode()
    assert Unit.objects.filter(code="D01").exists()


def test_a_unit_with_reports_cannot_change_its_kind_away_from_its_categories_silently(admin_client, world):
    url = reverse("admin:reporting_unit_change", args=[Unit.objects.get(code="D01").pk])
    data = {"code": "D01", "short_name": "市审批局", "name": "市行政审批局", "kind": "county", "order": "1",
            "is_active": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "已有月度报表" in response.content.decode()
    assert Unit.objects.get(code="D01").kind == "department"
    assert MonthlyReport.objects.filter(unit__code="D01").exists()


@pytest.mark.parametrize("kinds", ["县区 园区", "", "county nowhere"])
def test_a_statistics_table_without_real_unit_kinds_is_refused(admin_client, world, kinds):
    from rankings.models import StatTable

    table = StatTable.objects.get(code="county_park")
    url = reverse("admin:rankings_stattable_change", args=[table.pk])
    response = admin_client.get(url)
    form = response.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data["group_kinds"] = kinds
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, field in formset.management_form.fields.items():
            data[f"{formset.prefix}-{name}"] = formset.management_form.initial.get(name, field.initial)
        for index, column in enumerate(formset.initial_forms):
            for name in ("id", "position", "label", "source"):
                value = column.initial.get(name) if name != "id" else column.instance.pk
                data[f"{formset.prefix}-{index}-{name}"] = value
            data[f"{formset.prefix}-{index}-table"] = table.pk
    response = admin_client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "行分组须为单位类型" in page or (kinds == "" and "这个字段是必填项" in page)
    assert StatTable.objects.get(code="county_park").group_kinds == "county park"


def test_a_deadline_before_its_month_is_refused(admin_client):
    response = admin_client.post(reverse("admin:reporting_deadline_add"), {
        "period": "2019-08-01", "due_date": "2019-07-05", "lock_date": "2019-07-25",
    })
    assert response.status_code == 200
    assert "报送截止日不能早于报送月份（2019年8月）本身" in response.content.decode()
    assert not Deadline.objects.exists()
