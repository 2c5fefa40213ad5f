"""The last reminder before a file expires: a notification kind of its own (issue 15 §2)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_drop_change_announcements"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("stage_changed", "Your application moved on"),
                    ("documents_requested", "Documents needed"),
                    ("document_rejected", "A document needs replacing"),
                    ("offer_ready", "Your offer is ready"),
                    ("decision", "A decision on your application"),
                    ("sla_at_risk", "A stage is close to its time limit"),
                    ("sla_breached", "A stage is overdue"),
                    ("sla_escalation", "An overdue stage is escalated to you"),
                    ("delay_notice", "Your application is taking longer than planned"),
                    ("documents_reminder", "Reminder: documents needed"),
                    ("expiry_warning", "Last reminder before your application closes"),
                    ("new_assignment", "A file is assigned to you"),
                    ("daily_digest", "Daily summary of delays and backlog"),
                ],
                max_length=40,
                verbose_name="kind",
            ),
        ),
    ]
