"""Drops the triggers that announced sign-in changes (installed by ``0004_announce_changes`` on
databases migrated before it became a no-op): nothing listens any more, and each would go on sending
a notification for every sign-in, sign-out and account change. ``IF EXISTS``: a new database never
had them."""

from django.db import migrations

# (table, event) of each trigger; trigger and function share the name ``<table>_announce_<event>``.
TRIGGERS = [
    ("accounts_user", "update"),
    ("accounts_user", "delete"),
    ("django_session", "update"),
    ("django_session", "delete"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_canonical_identifiers"),
    ]

    operations = [
        migrations.RunSQL(
            [
                statement
                for table, event in TRIGGERS
                for statement in (
                    f'DROP TRIGGER IF EXISTS {table}_announce_{event} ON "{table}"',
                    f"DROP FUNCTION IF EXISTS {table}_announce_{event}()",
                )
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
