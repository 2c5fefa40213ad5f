from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "applications"
    verbose_name = _("Loan applications")

    def ready(self) -> None:
        from .reference import connect_signals

        connect_signals()
