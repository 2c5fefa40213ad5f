from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No models: the app exists for its ``seed_demo`` command."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
