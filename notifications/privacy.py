"""What the notifications app holds about a person, for the core's privacy page (PIPL), listed in
``settings.LOANPORTAL_PRIVACY_PARTS``: the channel preference goes into "download my data", and
closing the account removes it with the inbox (the messages name the person's applications)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import ChannelPreference, Notification
from .selectors import channel_preference_of


class _NotificationsPart:
    key = "notification_preferences"
    title: Promise = _("Notification settings")
    labels: dict[str, Promise] = {
        "email": _("A copy by email"),
        "sms": _("A copy by text message"),
        "inbox_messages": _("Messages in your inbox"),
    }

    def export(self, *, user) -> dict[str, Any]:
        """Two queries: the preference (both on unless the person chose), the inbox's size."""
        preference = channel_preference_of(user=user)
        return {
            "email": preference.email,
            "sms": preference.sms,
            "inbox_messages": Notification.objects.filter(recipient=user).count(),
        }

    @transaction.atomic
    def erase(self, *, user) -> None:
        Notification.objects.filter(recipient=user).delete()  # their deliveries with them
        ChannelPreference.objects.filter(user=user).delete()


PRIVACY_PART = _NotificationsPart()
