from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "applications"
    verbose_name = _("Loan applications")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .reference import connect_signals
        from .views.dealer.workspace import flag_dealer_session

        connect_signals()
        # The navbar's link to the dealer workspace reads a session flag, not the permissions
        # (which would cost every page a query).
        user_logged_in.connect(flag_dealer_session, dispatch_uid="applications.flag_dealer_session")
