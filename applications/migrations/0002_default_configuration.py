"""PRODUCT.md's defaults: stages with time limits and customer words, document types, the reason
catalogue and two loan products (one for new-energy vehicles). All of it is editable in admin. The
data and its loader are ``applications.defaults.configuration``, which the test suite calls too."""

from django.db import migrations

from applications.defaults.configuration import configuration_load


def load(apps, schema_editor):
    configuration_load(apps)


class Migration(migrations.Migration):
    dependencies = [("applications", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
