"""The dealer workspace lists a dealership's files newest first and the API walks them latest changed
first: an index for each order, led by the dealership."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0031_partner_step_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="loanapplication",
            index=models.Index(fields=["dealer", "-created_at", "-id"], name="application_dealer_new_idx"),
        ),
        migrations.AddIndex(
            model_name="loanapplication",
            index=models.Index(
                fields=["dealer", "-updated_at", "-id"], name="application_dealer_changed_idx"
            ),
        ),
    ]
