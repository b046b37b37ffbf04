"""Loading the reference data (units, categories) from fixtures/*.csv, idempotently."""

import csv
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .models import Category, Unit

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def read_csv(name):
    with open(FIXTURES / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@transaction.atomic
def reference_load():
    """Create or update every unit and category by code; returns (units, categories) counts."""
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
    return Unit.objects.count(), Category.objects.count()
