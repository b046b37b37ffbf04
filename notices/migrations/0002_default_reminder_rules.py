from django.db import migrations

# The office's usual rhythm: a reminder three days before the deadline, an overdue notice the day after it.
DEFAULT_RULES = [("reminder", 3), ("overdue", 1)]


def add_rules(apps, schema_editor):
    ReminderRule = apps.get_model("notices", "ReminderRule")
    for kind, days in DEFAULT_RULES:
        ReminderRule.objects.get_or_create(kind=kind, days=days)


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_initial")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
