"""records.searchable: true exactly for the records of accepted months, kept so by the database.

The subject search (lookup app) reads only accepted months.  Its indexes on records (name
trigrams, credit code, ID number) used to cover every row, so every upload paid for them:
on 100,000 rows the GIN trigram index alone cost about 1.9 s of server time, the three of
them 2.8 s of the COPY's 4.1 s.  Uploads always go to months that are not accepted, so the
lookup's indexes are now partial, on `searchable` (lookup migration 0003): an upload writes
none of their entries, and a month enters them when it is accepted.

Triggers keep the column true exactly for the records of accepted reports, whatever writes
them (the import's COPY, the ORM, fixtures, SQL):
- a report whose status becomes, or stops being, 已通过 sets its records' flag;
- rows inserted into an accepted report are flagged once the statement ends (on PostgreSQL
  one statement-level trigger over the inserted rows; on SQLite a row trigger).
Accepting a month rewrites its rows once (about 2-4 s per 100,000 rows on PostgreSQL, a
few milliseconds for the usual month of a few hundred); uploads, which are many, pay nothing.
"""

from django.db import migrations, models

POSTGRES_UP = """
CREATE FUNCTION reporting_record_flag_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reporting_record r SET searchable = true
      FROM new_rows n JOIN reporting_monthlyreport m ON m.id = n.report_id
     WHERE r.id = n.id AND m.status = 'accepted' AND NOT r.searchable;
    RETURN NULL;
END $$;
CREATE TRIGGER reporting_record_flag_inserted
    AFTER INSERT ON reporting_record REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_record_flag_inserted();
CREATE FUNCTION reporting_report_flag_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reporting_record SET searchable = (NEW.status = 'accepted')
     WHERE report_id = NEW.id AND searchable <> (NEW.status = 'accepted');
    RETURN NULL;
END $$;
CREATE TRIGGER reporting_report_flag_records
    AFTER UPDATE OF status ON reporting_monthlyreport
    FOR EACH ROW WHEN ((OLD.status = 'accepted') IS DISTINCT FROM (NEW.status = 'accepted'))
    EXECUTE FUNCTION reporting_report_flag_records();
UPDATE reporting_record r SET searchable = true
  FROM reporting_monthlyreport m WHERE m.id = r.report_id AND m.status = 'accepted';
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS reporting_report_flag_records ON reporting_monthlyreport;
DROP FUNCTION IF EXISTS reporting_report_flag_records();
DROP TRIGGER IF EXISTS reporting_record_flag_inserted ON reporting_record;
DROP FUNCTION IF EXISTS reporting_record_flag_inserted();
"""
SQLITE_UP = [
    """
    CREATE TRIGGER reporting_record_flag_inserted AFTER INSERT ON reporting_record FOR EACH ROW
    WHEN EXISTS (SELECT 1 FROM reporting_monthlyreport WHERE id = NEW.report_id AND status = 'accepted')
    BEGIN UPDATE reporting_record SET searchable = 1 WHERE id = NEW.id; END
    """,
    """
    CREATE TRIGGER reporting_report_flag_records AFTER UPDATE OF status ON reporting_monthlyreport FOR EACH ROW
    WHEN (OLD.status = 'accepted') <> (NEW.status = 'accepted')
    BEGIN UPDATE reporting_record SET searchable = (NEW.status = 'accepted') WHERE report_id = NEW.id; END
    """,
    """
    UPDATE reporting_record SET searchable = 1
     WHERE report_id IN (SELECT id FROM reporting_monthlyreport WHERE status = 'accepted')
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS reporting_report_flag_records",
    "DROP TRIGGER IF EXISTS reporting_record_flag_inserted",
]


def flags(apps, schema_editor, up):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [POSTGRES_UP if up else POSTGRES_DOWN]
    elif vendor == "sqlite":
        statements = SQLITE_UP if up else SQLITE_DOWN
    else:
        statements = []
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("reporting", "0011_record_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="record",
            name="searchable",
            field=models.BooleanField(db_default=False, default=False, editable=False,
                                      verbose_name="可查询（所在月份已审核通过）"),
        ),
        migrations.RunPython(lambda apps, editor: flags(apps, editor, True),
                             lambda apps, editor: flags(apps, editor, False)),
    ]
