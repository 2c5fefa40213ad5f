"""Once installed triggers that announced changes to a customer's file (``NOTIFY``) to server
processes that kept whole timeline pages. That machinery is gone: this migration now does nothing, so
a new database never gets the triggers, and ``0021_drop_change_announcements`` removes them from a
database that has them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0018_slimmer_application_indexes"),
    ]

    operations = []
