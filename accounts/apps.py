from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .sessions import _on_user_logged_in

        # Every way of signing in (the sign-in page, the admin's, sign-up, tests' force_login)
        # starts the session's clocks.
        user_logged_in.connect(_on_user_logged_in, dispatch_uid="accounts.session_limits")
