import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    Document = apps.get_model("applications", "Document")
    for document in Document.objects.filter(public_id__isnull=True).only("pk"):
        document.public_id = uuid.uuid4()
        document.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [("applications", "0005_delay_reason")]

    operations = [
        migrations.AddField(
            model_name="document", name="public_id", field=models.UUIDField(null=True, editable=False)
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="document",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
