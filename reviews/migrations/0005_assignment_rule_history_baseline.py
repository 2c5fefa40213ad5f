from django.db import migrations

from applications.defaults.history import history_baseline


def baseline(apps, schema_editor):
    history_baseline(apps, "reviews", ["AssignmentRule"], {})


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0004_assignment_rule_history"),
        ("applications", "0027_configuration_history_baseline"),
    ]

    operations = [migrations.RunPython(baseline, migrations.RunPython.noop)]
