"""Two indexes for the SLA report on a large book: the submission time (its cohorts are the files
submitted in a range, a submission day's funnel and approval factors recomputed without reading the
whole table), and the open files' stage, time in it and due time (the backlog read from the index
alone)."""

from django.db import migrations, models

OPEN_STAGES = [
    "submitted",
    "credit_check",
    "under_review",
    "awaiting_documents",
    "approval",
    "offer_pending",
    "contract_signing",
    "lien_registration",
    "disbursement",
]


class Migration(migrations.Migration):
    dependencies = [("applications", "0032_dealer_list_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="loanapplication",
            index=models.Index(fields=["submitted_at"], name="application_submitted_idx"),
        ),
        migrations.AddIndex(
            model_name="loanapplication",
            index=models.Index(
                fields=["stage", "stage_entered_at", "stage_due_at"],
                condition=models.Q(stage__in=OPEN_STAGES),
                name="application_open_age_idx",
            ),
        ),
    ]
