"""The cohort rollups of the SLA report: the funnel and the approval factors per submission day,
and their mark (reports.selectors.cohorts)."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_stay_rollups"),
    ]

    operations = [
        migrations.CreateModel(
            name="CohortRollupMark",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_id", models.BigIntegerField(default=0, verbose_name="last event rolled up")),
                ("rolled_until", models.DateTimeField(blank=True, null=True, verbose_name="rolled up until")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
            ],
            options={
                "verbose_name": "cohort rollup mark",
                "verbose_name_plural": "cohort rollup marks",
            },
        ),
        migrations.CreateModel(
            name="FunnelRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField(unique=True, verbose_name="day")),
                ("submitted", models.IntegerField(verbose_name="submitted")),
                ("reached_1", models.IntegerField(verbose_name="reached step 1")),
                ("reached_2", models.IntegerField(verbose_name="reached step 2")),
                ("reached_3", models.IntegerField(verbose_name="reached step 3")),
                ("reached_4", models.IntegerField(verbose_name="reached step 4")),
                ("reached_5", models.IntegerField(verbose_name="reached step 5")),
                ("rejected", models.IntegerField(verbose_name="rejected")),
                ("withdrawn", models.IntegerField(verbose_name="withdrawn")),
                ("expired", models.IntegerField(verbose_name="expired")),
            ],
            options={
                "verbose_name": "funnel rollup",
                "verbose_name_plural": "funnel rollups",
            },
        ),
        migrations.CreateModel(
            name="FactorRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "period",
                    models.CharField(
                        choices=[("day", "Day"), ("week", "Week")],
                        default="day",
                        max_length=5,
                        verbose_name="period",
                    ),
                ),
                ("day", models.DateField(verbose_name="day")),
                ("dimension", models.CharField(max_length=20, verbose_name="grouping")),
                ("key_text", models.CharField(blank=True, max_length=20, null=True, verbose_name="key")),
                ("key_id", models.BigIntegerField(blank=True, null=True, verbose_name="key id")),
                ("octave", models.IntegerField(blank=True, null=True, verbose_name="octave")),
                ("submitted", models.IntegerField(verbose_name="submitted")),
                ("decided", models.IntegerField(verbose_name="decided")),
                ("approved", models.IntegerField(verbose_name="approved")),
                (
                    "buckets",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.IntegerField(), default=list, size=None
                    ),
                ),
                (
                    "counts",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.IntegerField(), default=list, size=None
                    ),
                ),
            ],
            options={
                "verbose_name": "approval factor rollup",
                "verbose_name_plural": "approval factor rollups",
                "indexes": [models.Index(fields=["period", "day"], name="factor_rollup_day_idx")],
            },
        ),
    ]
