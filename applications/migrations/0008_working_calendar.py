"""The working calendar of the SLA clock, seeded with mainland China's public holidays and
make-up working days (调休) for 2026 and 2027: the days, and what is unsure about them, are
``applications.defaults.calendar``, which the test suite calls too."""

import datetime as dt

from django.db import migrations, models

from applications.defaults.calendar import working_calendar_load


def load(apps, schema_editor=None):
    working_calendar_load(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0007_draft_vehicle_and_loan_optional"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkingCalendar",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(default="Mainland China", max_length=60, verbose_name="name")),
                (
                    "time_zone",
                    models.CharField(default="Asia/Shanghai", max_length=40, verbose_name="time zone"),
                ),
                ("day_start", models.TimeField(default=dt.time(9, 0), verbose_name="working day starts")),
                ("day_end", models.TimeField(default=dt.time(18, 0), verbose_name="working day ends")),
            ],
            options={"verbose_name": "working calendar", "verbose_name_plural": "working calendar"},
        ),
        migrations.CreateModel(
            name="CalendarDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField(unique=True, verbose_name="date")),
                ("is_working", models.BooleanField(default=False, verbose_name="working day")),
                ("note", models.CharField(blank=True, max_length=100, verbose_name="note")),
            ],
            options={
                "verbose_name": "calendar day",
                "verbose_name_plural": "holidays and make-up working days",
                "ordering": ["date"],
            },
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
