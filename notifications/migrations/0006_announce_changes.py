"""Once installed triggers that announced changes to someone's unread notifications (``NOTIFY``) to
server processes that kept whole timeline pages. That machinery is gone: this migration now does
nothing, so a new database never gets the triggers, and ``0007_drop_change_announcements`` removes
them from a database that has them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_notification_kinds_assignment_digest"),
    ]

    operations = []
