from django.apps import AppConfig
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


def _reset_pii_keys(*, setting: str, **kwargs) -> None:
    if setting in ("PII_ENCRYPTION_KEYS", "PII_HASH_KEY"):
        from .pii import reset_key_cache

        reset_key_cache()


class ApplicationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "applications"
    verbose_name = _("Loan applications")

    def ready(self) -> None:
        setting_changed.connect(_reset_pii_keys, dispatch_uid="applications.reset_pii_keys")
        from .reference import connect_signals

        connect_signals()
