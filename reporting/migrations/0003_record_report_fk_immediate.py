"""Check records' report foreign key row by row during COPY instead of at commit.

Django creates PostgreSQL foreign keys DEFERRABLE INITIALLY DEFERRED, so a
100,000-row upload queued 100,000 checks that ran serially at COMMIT (about
1 s, measured).  Checked immediately, the server does them while the COPY
is still receiving rows, on a core the validating Python process is not using.
"""

from django.db import migrations

FIND = """
SELECT con.conname FROM pg_constraint con
JOIN pg_class rel ON rel.oid = con.conrelid
JOIN pg_attribute att ON att.attrelid = rel.oid AND att.attnum = ANY (con.conkey)
WHERE rel.relname = 'reporting_record' AND con.contype = 'f' AND att.attname = 'report_id'
"""


def set_deferrable(apps, schema_editor, deferrable):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FIND)
        for (name,) in cursor.fetchall():
            mode = "DEFERRABLE INITIALLY DEFERRED" if deferrable else "NOT DEFERRABLE"
            cursor.execute(f'ALTER TABLE reporting_record ALTER CONSTRAINT "{name}" {mode}')


class Migration(migrations.Migration):
    dependencies = [("reporting", "0002_record_copy_friendly")]

    operations = [
        migrations.RunPython(
            lambda apps, editor: set_deferrable(apps, editor, False),
            lambda apps, editor: set_deferrable(apps, editor, True),
        ),
    ]
