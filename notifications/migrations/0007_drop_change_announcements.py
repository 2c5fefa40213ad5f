"""Drops the triggers that announced changes to unread notifications (installed by
``0006_announce_changes`` on databases migrated before it became a no-op), then the function every
announcing trigger called, once the other apps' triggers are gone too. ``IF EXISTS``: a new database
never had them."""

from django.db import migrations

TABLE = "notifications_notification"


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_announce_changes"),
        # Their triggers called the function dropped last here.
        ("accounts", "0006_drop_change_announcements"),
        ("applications", "0021_drop_change_announcements"),
    ]

    operations = [
        migrations.RunSQL(
            [
                *(
                    statement
                    for event in ("insert", "update", "delete")
                    for statement in (
                        f'DROP TRIGGER IF EXISTS {TABLE}_announce_{event} ON "{TABLE}"',
                        f"DROP FUNCTION IF EXISTS {TABLE}_announce_{event}()",
                    )
                ),
                "DROP FUNCTION IF EXISTS loanportal_announce(text, text[])",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
