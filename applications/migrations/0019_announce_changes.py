"""A change to what a customer's timeline shows of their file is announced to the server processes
that keep pages (PostgreSQL only; see ``loanportal.postgresql.changes``): every change to the file
saves ``updated_at`` or appends an event, which moves ``history_head``."""

from django.db import migrations

from loanportal.postgresql.changes import Announcement, announce_changes


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0018_slimmer_application_indexes"),
    ]

    operations = [
        announce_changes(
            Announcement(
                "applications_loanapplication",
                "UPDATE",
                "u",
                "{row}.customer_id",
                columns=("updated_at", "history_head", "stage", "customer_id"),
            ),
            Announcement("applications_loanapplication", "DELETE", "u", "{row}.customer_id"),
        ),
    ]
