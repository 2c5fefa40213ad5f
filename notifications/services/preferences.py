"""Channel preferences: which channels besides the in-app inbox a user wants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import ChannelPreference

if TYPE_CHECKING:
    from accounts.models import User


def channel_preference_update(*, user: User, email: bool, sms: bool) -> ChannelPreference:
    """Set which channels besides the in-app inbox (always on) the user wants. Notifications
    created afterwards follow it (``deliveries_create``); deliveries already written are left
    as they are."""
    preference, _created = ChannelPreference.objects.update_or_create(
        user=user, defaults={"email": email, "sms": sms}
    )
    return preference
