"""The lookup's indexes on records cover only records of accepted months (records.searchable).

Uploads write into months that are not accepted, so they no longer pay for the name trigrams and
the code and ID number entries (2.8 s of server time per 100,000 uploaded rows at 1,000,000
records); a month's rows enter the indexes when it is accepted (reporting migration 0012 keeps
`searchable` true exactly for them).  The queries say `searchable` (selectors.in_accepted_month),
so the planner can use these partial indexes.  SQLite keeps its plain indexes.
"""

from django.db import migrations

TABLE = "reporting_record"
INDEXES = {
    "lookup_record_credit_code": ("(credit_code) WHERE searchable AND credit_code <> ''",
                                  "(credit_code) WHERE credit_code <> ''"),
    "lookup_record_id_number": ("(id_number) WHERE searchable AND id_number <> ''",
                                "(id_number) WHERE id_number <> ''"),
    "lookup_record_name": ("USING gin (subject_name gin_trgm_ops) WHERE searchable", "(subject_name)"),
}
PREVIOUS = {
    "lookup_record_credit_code": "(credit_code) WHERE credit_code <> ''",
    "lookup_record_id_number": "(id_number) WHERE id_number <> ''",
    "lookup_record_name": "USING gin (subject_name gin_trgm_ops)",
}


def _rebuild(schema_editor, definitions):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: unchanged plain indexes
    for name, definition in definitions.items():
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} {definition}")


def create_indexes(apps, schema_editor):
    """The partial indexes (also used by benchmarks/bench_lookup.py after it reseeds)."""
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, (pg_definition, plain_definition) in INDEXES.items():
        definition = pg_definition if postgres else plain_definition
        concurrently = "CONCURRENTLY " if postgres else ""
        schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {TABLE} {definition}")


def partial(apps, schema_editor):
    _rebuild(schema_editor, {name: pg for name, (pg, _) in INDEXES.items()})


def whole(apps, schema_editor):
    _rebuild(schema_editor, PREVIOUS)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("lookup", "0002_record_search_indexes"),
        ("reporting", "0012_record_searchable"),
    ]

    operations = [
        migrations.RunPython(partial, whole, atomic=False, elidable=False),
    ]
