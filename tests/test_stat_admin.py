"""Statistics tables are defined in the admin: a new column needs no code."""

import pytest
from django.core.exceptions import ValidationError


def test_admin_can_add_a_column_to_a_table_through_the_admin(client, users):
    """Issue 3: adding a column needs no code — the admin's inline form is enough."""
    from rankings.models import StatTable

    table = StatTable.objects.get(code="county_park")
    client.force_login(users["admin"])
    assert client.get(f"/admin/rankings/stattable/{table.pk}/change/").status_code == 200
    columns = list(table.columns.order_by("position"))
    form = {
        "code": table.code, "name": table.name, "title_template": table.title_template,
        "group_kinds": table.group_kinds, "show_group_headers": "on", "order": table.order, "is_active": "on",
        "columns-TOTAL_FORMS": len(columns) + 1, "columns-INITIAL_FORMS": len(columns),
        "columns-MIN_NUM_FORMS": 0, "columns-MAX_NUM_FORMS": 1000,
    }
    for i, c in enumerate(columns):
        form.update({f"columns-{i}-id": c.pk, f"columns-{i}-table": table.pk, f"columns-{i}-position": c.position,
                     f"columns-{i}-label": c.label, f"columns-{i}-source": c.source})
    n = len(columns)
    form.update({f"columns-{n}-table": table.pk, f"columns-{n}-position": 99, f"columns-{n}-label": "红黑名单合计",
                 f"columns-{n}-source": "local_redlist+local_blacklist"})
    response = client.post(f"/admin/rankings/stattable/{table.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert table.columns.get(label="红黑名单合计").category_codes == ["local_redlist", "local_blacklist"]


def test_admin_refuses_a_column_with_an_unknown_category(client, users):
    from rankings.models import StatColumn, StatTable

    column = StatColumn(table=StatTable.objects.get(code="department"), position=50, label="坏列", source="no_such")
    with pytest.raises(ValidationError, match="未知的类别编码"):
        column.full_clean()
