"""Sign-in changes are announced to the server processes that keep pages (PostgreSQL only; see
``loanportal.postgresql.changes``): an account's row, and a session updated or deleted (signed
out, expired, a message stored)."""

from django.db import migrations

from loanportal.postgresql.changes import Announcement, announce_changes


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_staff_username_index"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        announce_changes(
            Announcement("accounts_user", "UPDATE", "u", "{row}.id"),
            Announcement("accounts_user", "DELETE", "u", "{row}.id"),
            Announcement("django_session", "UPDATE", "s", "md5({row}.session_key)", pk="session_key"),
            Announcement("django_session", "DELETE", "s", "md5({row}.session_key)"),
        ),
    ]
