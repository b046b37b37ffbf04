"""The name search index, and the entries of the months already accepted.

On PostgreSQL the public name search (LIKE '%…%' on the shown name) uses pg_trgm's GIN index; the
extension is created by lookup's migration 0002.  SQLite has no trigrams: a name search scans there.

The entries of months accepted before this app existed are written here once (the same service as
`manage.py disclosure_rebuild`); afterwards they follow every acceptance and reopening (receivers.py).
"""

from django.db import migrations


def create_name_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS disclosure_name_trgm ON disclosure_publicentry "
            "USING gin (name gin_trgm_ops) WHERE name_searchable"
        )


def drop_name_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS disclosure_name_trgm")


def fill_entries(apps, schema_editor):
    MonthlyReport = apps.get_model("reporting", "MonthlyReport")
    if not MonthlyReport.objects.filter(status="accepted").exists():
        return
    from disclosure.services import entries_rebuild

    entries_rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("disclosure", "0001_initial"),
        ("lookup", "0002_record_search_indexes"),
    ]

    operations = [
        migrations.RunPython(create_name_index, drop_name_index, elidable=False),
        migrations.RunPython(fill_entries, migrations.RunPython.noop, elidable=False),
    ]
