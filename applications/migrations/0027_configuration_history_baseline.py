from django.db import migrations

from applications.defaults.history import history_baseline

MODELS = [
    "StageDefinition",
    "DocumentType",
    "Reason",
    "LoanProduct",
    "Dealer",
    "BlacklistEntry",
    "WorkingCalendar",
    "CalendarDay",
]
M2M = {"StageDefinition": "required_document_types", "Dealer": "staff"}


def baseline(apps, schema_editor):
    history_baseline(apps, "applications", MODELS, M2M)


class Migration(migrations.Migration):
    dependencies = [("applications", "0026_privacy_rights")]

    operations = [migrations.RunPython(baseline, migrations.RunPython.noop)]
