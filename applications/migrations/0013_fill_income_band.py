"""Fill ``Applicant.income_band`` for the applicants saved before the band existed.

The income is encrypted, so SQL cannot band it: each batch is read, decrypted in Python (the
field does it on load) and written back with one bulk UPDATE. Not atomic as a whole: each batch
commits on its own, so a large table never sits in one long transaction, and a run that stops
half-way picks up where it left off (only blank bands are read).
"""

from decimal import Decimal

from django.db import migrations, transaction

BATCH_SIZE = 2000

# The bands as they were defined when this migration was written (applications.choices.IncomeBand):
# lower bound of the monthly income in yuan, highest first.
FLOORS = (
    (Decimal(50_000), "50k+"),
    (Decimal(30_000), "30k-50k"),
    (Decimal(15_000), "15k-30k"),
    (Decimal(8_000), "8k-15k"),
)


def band_of(income):
    for floor, band in FLOORS:
        if income >= floor:
            return band
    return "lt8k"


def fill(apps, schema_editor):
    Applicant = apps.get_model("applications", "Applicant")
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Applicant.objects.filter(pk__gt=last_pk, income_band="")
                .order_by("pk")
                .only("pk", "monthly_income")[:BATCH_SIZE]
            )
            if not batch:
                return
            for applicant in batch:
                if applicant.monthly_income not in (None, ""):
                    applicant.income_band = band_of(applicant.monthly_income)
            Applicant.objects.bulk_update(batch, ["income_band"])
        last_pk = batch[-1].pk


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("applications", "0012_event_due_at_income_band"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
