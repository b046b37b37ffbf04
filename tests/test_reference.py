"""Reference data (units, categories) and the demo accounts."""

import csv
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command

from reporting.management.commands.create_demo_users import DEMO_PASSWORD, OFFICE_GROUP
from reporting.models import Category, Unit, UnitKind, User

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def fixture_rows(name):
    with open(FIXTURES / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def load_reference():
    call_command("load_reference", verbosity=0)


def test_load_reference_loads_63_units_and_23_categories(db, capsys):
    call_command("load_reference")
    assert "参考数据已载入：63 个信源单位，23 个报送类别" in capsys.readouterr().out
    kinds = {kind: Unit.objects.filter(kind=kind).count() for kind in UnitKind.values}
    assert kinds == {"department": 52, "county": 6, "park": 5}
    assert Category.objects.count() == 23


def test_reference_keeps_the_codes_and_names_of_the_fixtures(db):
    load_reference()
    units = {u.code: u for u in Unit.objects.all()}
    for row in fixture_rows("units.csv"):
        unit = units[row["code"]]
        assert (unit.short_name, unit.name, unit.kind, unit.order) == (
            row["short_name"], row["name"], row["kind"], int(row["order"]),
        )
    categories = list(Category.objects.order_by("order"))
    rows = fixture_rows("categories.csv")
    assert [c.code for c in categories] == [r["code"] for r in rows]
    for category, row in zip(categories, rows, strict=True):
        assert (category.name, category.measure, category.schema, category.applies_to) == (
            row["name"], row["measure"], row["schema"], row["applies_to"],
        )
        if category.is_records:
            assert category.get_schema().code == row["schema"]


def test_load_reference_is_idempotent_and_restores_edited_names(db):
    load_reference()
    ids = dict(Unit.objects.values_list("code", "id"))
    Unit.objects.filter(code="D01").update(short_name="改过的名字", kind="park")
    Category.objects.filter(code="admin_license").update(name="改过的类别")
    load_reference()
    load_reference()
    assert Unit.objects.count() == 63
    assert Category.objects.count() == 23
    assert dict(Unit.objects.values_list("code", "id")) == ids
    d01 = Unit.objects.get(code="D01")
    assert (d01.short_name, d01.kind) == ("市审批局", "department")
    assert Category.objects.get(code="admin_license").name == "行政许可"


def test_load_reference_keeps_units_added_by_an_admin(db):
    load_reference()
    Unit.objects.create(code="D99", short_name="新部门", name="市新部门", kind="department", order=99)
    load_reference()
    assert Unit.objects.count() == 64


@pytest.mark.parametrize("code, kind, count", [("D01", "department", 16), ("C01", "county", 23), ("P01", "park", 23)])
def test_units_see_the_categories_of_their_kind(reference, code, kind, count):
    unit = Unit.objects.get(code=code)
    assert unit.kind == kind
    categories = list(unit.categories())
    assert len(categories) == count
    assert categories[0].code == "admin_license"


def test_department_categories_exclude_county_only_ones(reference):
    codes = set(Unit.objects.get(code="D01").categories().values_list("code", flat=True))
    assert "credit_commitment" not in codes
    assert "gov_dishonesty_unresolved" not in codes
    assert "admin_penalty" in codes


def test_inactive_categories_are_not_offered(reference):
    Category.objects.filter(code="xinyi_plus").update(is_active=False)
    assert Unit.objects.get(code="D01").categories().count() == 15


# --- demo users -----------------------------------------------------------------------


def test_create_demo_users_creates_one_reporter_per_unit(reference, capsys):
    call_command("create_demo_users")
    assert "密码均为 demo12345，仅供演示" in capsys.readouterr().out
    reporters = User.objects.filter(unit__isnull=False)
    expected = [f"d{n:02d}" for n in range(1, 53)] + [f"c{n:02d}" for n in range(1, 7)] + [f"p{n:02d}" for n in range(1, 6)]
    assert sorted(reporters.values_list("username", flat=True)) == sorted(expected)
    d01 = User.objects.get(username="d01")
    assert d01.unit.code == "D01"
    assert d01.display_name == "市审批局填报员"
    assert d01.is_office is False
    assert not d01.is_staff
    assert User.objects.get(username="c06").unit.kind == "county"
    assert User.objects.get(username="p05").unit.kind == "park"


def test_every_demo_account_has_the_demo_password(reference):
    call_command("create_demo_users", verbosity=0)
    for username in ("d01", "d52", "c01", "p05", "office", "admin"):
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD), username


def test_office_reviewer_is_in_the_review_group(reference):
    call_command("create_demo_users", verbosity=0)
    office = User.objects.get(username="office")
    assert office.unit is None
    assert office.groups.filter(name=OFFICE_GROUP).exists()
    assert office.has_perm("reporting.review_monthlyreport")
    assert office.is_office is True
    assert not office.is_superuser


def test_admin_is_a_superuser(reference):
    call_command("create_demo_users", verbosity=0)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.unit is None
    assert admin.is_office is True


def test_create_demo_users_is_idempotent(reference):
    call_command("create_demo_users", verbosity=0)
    User.objects.filter(username="d01").update(display_name="张三")
    call_command("create_demo_users", verbosity=0)
    assert User.objects.count() == 65
    assert Group.objects.get(name=OFFICE_GROUP).user_set.count() == 1
    assert User.objects.get(username="d01").display_name == "张三"
