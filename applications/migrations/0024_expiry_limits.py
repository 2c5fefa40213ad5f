"""Expiry limits as configuration data on the stage definitions (``applications.expiry``), their
defaults set (``defaults.expiry``), and the reason an expired draft is given added to an existing
database's catalogue (new databases get it from 0002, which loads ``defaults.configuration``)."""

from django.db import migrations, models

from applications.defaults.configuration import REASONS
from applications.defaults.expiry import expiry_limits_load


def set_expiry_limits(apps, schema_editor):
    expiry_limits_load(apps)
    Reason = apps.get_model("applications", "Reason")
    for code, kind, t_zh, t_en, r_zh, r_en in REASONS:
        if code == "draft_not_submitted":
            Reason.objects.get_or_create(
                code=code,
                defaults={
                    "kind": kind,
                    "text_zh_hans": t_zh,
                    "text_en": t_en,
                    "remedy_zh_hans": r_zh,
                    "remedy_en": r_en,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0023_repayment_method"),
    ]

    operations = [
        migrations.AddField(
            model_name="stagedefinition",
            name="expires_at_deadline",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "A file still in this stage when its time limit has run out closes as expired: the "
                    "deadline the customer was shown, counted from when the stage began. Only for waiting "
                    "for documents and the offer."
                ),
                verbose_name="expires at the customer's deadline",
            ),
        ),
        migrations.AddField(
            model_name="stagedefinition",
            name="expires_when_untouched",
            field=models.DurationField(
                blank=True,
                help_text="Drafts only: a draft nobody has changed for this long closes as expired. Empty: never.",
                null=True,
                verbose_name="expires when untouched for",
            ),
        ),
        migrations.AddField(
            model_name="stagedefinition",
            name="last_reminder_before",
            field=models.DurationField(
                blank=True,
                help_text="The customer gets one last reminder this long before the file expires. Empty: none.",
                null=True,
                verbose_name="last reminder before expiry",
            ),
        ),
        migrations.RunPython(set_expiry_limits, migrations.RunPython.noop),
    ]
