"""Walk-in claims (a dealer's application for a buyer who claims it by a texted link and code), and
the document a dealer holds beside the invoice: the vehicle's certificate of conformity."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import common.pii
from applications.defaults.configuration import DOCUMENT_TYPES


def certificate_type_add(apps, schema_editor):
    """Only the new type: the other defaults may have been edited by managers since."""
    DocumentType = apps.get_model("applications", "DocumentType")
    for code, name_zh, name_en, help_zh, help_en in DOCUMENT_TYPES:
        if code == "vehicle_certificate":
            DocumentType.objects.get_or_create(
                code=code,
                defaults={
                    "name_zh_hans": name_zh,
                    "name_en": name_en,
                    "help_zh_hans": help_zh,
                    "help_en": help_en,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0029_partner_steps"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="WalkInClaim",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("buyer_name", models.CharField(max_length=60, verbose_name="buyer's name")),
                ("buyer_phone", common.pii.EncryptedField(verbose_name="buyer's mobile number")),
                ("buyer_phone_hash", models.CharField(db_index=True, editable=False, max_length=64)),
                ("token_hash", models.CharField(editable=False, max_length=64, unique=True)),
                ("link_sent_at", models.DateTimeField(blank=True, null=True, verbose_name="link sent")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created"
                    ),
                ),
                ("claimed_at", models.DateTimeField(blank=True, null=True, verbose_name="claimed")),
                (
                    "application",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="walk_in",
                        to="applications.loanapplication",
                        verbose_name="application",
                    ),
                ),
                (
                    "claimed_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "walk-in claim",
                "verbose_name_plural": "walk-in claims",
            },
        ),
        migrations.RunPython(certificate_type_add, migrations.RunPython.noop),
    ]
