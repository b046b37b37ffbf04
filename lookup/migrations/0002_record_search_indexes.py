"""Indexes on reporting's Record table for the subject search, owned by this app.

reporting.Record deliberately has no single-column indexes (its uploads are tuned
for COPY); the lookup needs three, so they live here, where the need is:

- credit_code and id_number: partial btree indexes (non-empty values only);
- subject_name: on PostgreSQL a GIN index with pg_trgm's gin_trgm_ops (LIKE / ILIKE
  '%…%' for substrings and similar names); on SQLite, which has no trigrams, a plain
  index (exact names; a substring search scans).

Created CONCURRENTLY on PostgreSQL (the migration is not atomic), so a large table
stays writable while they are built.  The models do not declare them: reporting's
migrations never see them.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TABLE = "reporting_record"
INDEXES = {
    "lookup_record_credit_code": ("(credit_code) WHERE credit_code <> ''", "(credit_code) WHERE credit_code <> ''"),
    "lookup_record_id_number": ("(id_number) WHERE id_number <> ''", "(id_number) WHERE id_number <> ''"),
    "lookup_record_name": ("USING gin (subject_name gin_trgm_ops)", "(subject_name)"),
}


class TrigramExtensionOnPostgres(TrigramExtension):
    """TrigramExtension, whose reverse would query pg_extension on SQLite too."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, (pg_definition, plain_definition) in INDEXES.items():
        if postgres:
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} {pg_definition}")
        else:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} {plain_definition}")


def drop_indexes(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("lookup", "0001_initial"),
        ("reporting", "0010_auditevent_nil_undone_record_edits"),
    ]

    operations = [
        TrigramExtensionOnPostgres(),  # a no-op on other databases
        migrations.RunPython(create_indexes, drop_indexes, atomic=False, elidable=False),
    ]
