"""The SLA report's cohorts are the files submitted in a range: an index on the submission time, so
that a submission day's funnel and approval factors (a few thousand files) are recomputed without
reading the whole table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("applications", "0032_dealer_list_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="loanapplication",
            index=models.Index(fields=["submitted_at"], name="application_submitted_idx"),
        ),
    ]
