"""Once installed triggers that announced sign-in changes (``NOTIFY``) to server processes that kept
whole timeline pages. That machinery is gone: this migration now does nothing, so a new database never
gets the triggers, and ``0006_drop_change_announcements`` removes them from a database that has them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_staff_username_index"),
        ("sessions", "0001_initial"),
    ]

    operations = []
