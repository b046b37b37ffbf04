"""Loading the reference data (units, categories) from fixtures/*.csv, idempotently."""

import csv
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .models import Category, Unit, ValueSynonym

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def read_csv(name):
    with open(FIXTURES / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@transaction.atomic
def reference_load():
    """Create or update every unit, category and statistics table by code; returns (units, categories)."""
    for row in read_csv("units.csv"):
        Unit.objects.update_or_create(
            code=row["code"],
            defaults={"short_name": row["short_name"], "name": row["name"], "kind": row["kind"],
                      "order": int(row["order"])},
        )
    for order, row in enumerate(read_csv("categories.csv"), start=1):
        Category.objects.update_or_create(
            code=row["code"],
            defaults={"name": row["name"], "measure": row["measure"], "schema": row["schema"],
                      "applies_to": row["applies_to"], "order": order},
        )
    tables_load()
    weights_load()
    synonyms_load()
    return Unit.objects.count(), Category.objects.count()


def synonyms_load():
    """The built-in spellings of enumerated values (fixtures/value_synonyms.csv), created once:
    administrators' edits and additions are kept."""
    for row in read_csv("value_synonyms.csv"):
        ValueSynonym.objects.get_or_create(
            field=row["field"], spelling=row["spelling"],
            defaults={"canonical": row["canonical"], "note": row.get("note", "")},
        )


def weights_load():
    """Default score weights, created once; admins' edits are kept."""
    from rankings.indicators import SCORED
    from rankings.models import IndicatorWeight

    for code, (_, default) in SCORED.items():
        IndicatorWeight.objects.get_or_create(code=code, defaults={"weight": default})


# Layouts of the bulletin's two tables; tables.csv gives their columns.
TABLE_LAYOUTS = {
    "county_park": {
        "name": "县（市）区、园区数据报送情况统计表",
        "title_template": "{年}年{起}—{止}月份各县（市）区、园区信源单位数据报送情况统计表",
        "group_kinds": "county park",
        "show_group_headers": True,
        "numbered": False,
        "show_total_row": False,
        "order": 1,
    },
    "department": {
        "name": "市有关部门数据上报情况表",
        "title_template": "{年}年{起}—{止}月份市有关部门信源单位数据上报情况",
        "group_kinds": "department county park",
        "show_group_headers": False,
        "numbered": True,
        "show_total_row": True,
        "order": 2,
    },
}


def tables_load():
    """Create the statistics tables and columns of tables.csv that are missing.

    Admins may edit titles and add columns; a reload (every deployment runs
    one) must not undo that, so existing tables and columns are left alone.
    """
    from rankings.models import StatColumn, StatTable

    rows = read_csv("tables.csv")
    for code in dict.fromkeys(r["table"] for r in rows):
        layout = TABLE_LAYOUTS.get(code, {"name": code, "title_template": code})
        table, _ = StatTable.objects.get_or_create(code=code, defaults=layout)
        taken = set(table.columns.values_list("position", flat=True))
        for r in (r for r in rows if r["table"] == code):
            if table.columns.filter(label=r["label"]).exists() or int(r["position"]) in taken:
                continue
            StatColumn.objects.create(table=table, position=int(r["position"]), label=r["label"], source=r["source"])
