"""The repayment method the customer chose when accepting the offer (issue 15 §4)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0022_delay_causes"),
    ]

    operations = [
        migrations.AddField(
            model_name="loanapplication",
            name="repayment_method",
            field=models.CharField(
                blank=True,
                choices=[
                    ("equal_instalment", "Equal instalments (等额本息)"),
                    ("equal_principal", "Equal principal (等额本金)"),
                ],
                max_length=20,
                verbose_name="repayment method",
            ),
        ),
    ]
