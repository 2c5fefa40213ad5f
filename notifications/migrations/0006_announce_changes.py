"""A change to someone's unread notifications is announced to the server processes that keep pages
with the count in their navigation (PostgreSQL only; see ``loanportal.postgresql.changes``)."""

from django.db import migrations

from loanportal.postgresql.changes import Announcement, announce_changes


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_notification_kinds_assignment_digest"),
    ]

    operations = [
        announce_changes(
            Announcement(
                "notifications_notification", "INSERT", "u", "{row}.recipient_id", where="r.read_at IS NULL"
            ),
            Announcement(
                "notifications_notification",
                "UPDATE",
                "u",
                "{row}.recipient_id",
                where="(o.read_at IS NULL) IS DISTINCT FROM (n.read_at IS NULL) OR o.recipient_id <> n.recipient_id",
            ),
            Announcement(
                "notifications_notification", "DELETE", "u", "{row}.recipient_id", where="r.read_at IS NULL"
            ),
        ),
    ]
