"""Each transition records the stay it ends (``StageEvent.stay_started_at``, ``stay_due_at``).

The indexes that paired stays (0011, 0014) go first: nothing reads through them once the stays are
rows, and the fill that follows (0016) would otherwise rewrite them for every transition. Their
replacements are built on the filled table (0017).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0014_event_stay_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="stageevent", name="event_left_stage_idx"),
        migrations.RemoveIndex(model_name="stageevent", name="event_stay_end_idx"),
        migrations.RemoveIndex(model_name="stageevent", name="event_stay_start_idx"),
        migrations.AddField(
            model_name="stageevent",
            name="stay_started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="stay began"),
        ),
        migrations.AddField(
            model_name="stageevent",
            name="stay_due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="stay was due"),
        ),
    ]
