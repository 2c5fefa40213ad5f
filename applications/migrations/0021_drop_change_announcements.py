"""Drops the triggers that announced changes to a customer's file (installed by
``0019_announce_changes`` on databases migrated before it became a no-op): nothing listens any
more. ``IF EXISTS``: a new database never had them."""

from django.db import migrations

TABLE = "applications_loanapplication"


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0020_canonical_identifiers"),
    ]

    operations = [
        migrations.RunSQL(
            [
                statement
                for event in ("update", "delete")
                for statement in (
                    f'DROP TRIGGER IF EXISTS {TABLE}_announce_{event} ON "{TABLE}"',
                    f"DROP FUNCTION IF EXISTS {TABLE}_announce_{event}()",
                )
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
