"""Writes of the notifications app, split by subdomain; import from here
(``from notifications import services``):

- ``outbox``: a notification per dedupe key and its email / SMS ``Delivery`` rows, written in the
  caller's transaction (one at a time, or many at once by ``COPY``), the inbox marked read;
- ``delivery``: a delivery claimed, sent and marked, the relay's work, the SMS quiet hours;
- ``sla``: the SLA sweep — the core's clock moves on, this tells the owners, managers and
  customers, and nudges for missing documents;
- ``expiry``: the customer's last reminder before a file expires;
- ``digest``: the managers' daily summary;
- ``preferences``: which channels a user wants besides the inbox.
"""

from .delivery import MAX_ATTEMPTS, deliveries_due, delivery_send, lease, quiet_hours_end
from .digest import digest_send
from .expiry import expiry_reminders_send
from .outbox import (
    NewNotification,
    deliveries_create,
    notification_create,
    notifications_create_many,
    notifications_mark_read,
)
from .preferences import channel_preference_update
from .sla import SWEEP_NAME, SweepResult, sla_sweep, sla_sweep_health

__all__ = [
    "MAX_ATTEMPTS",
    "SWEEP_NAME",
    "NewNotification",
    "SweepResult",
    "channel_preference_update",
    "deliveries_create",
    "deliveries_due",
    "delivery_send",
    "digest_send",
    "expiry_reminders_send",
    "lease",
    "notification_create",
    "notifications_create_many",
    "notifications_mark_read",
    "quiet_hours_end",
    "sla_sweep",
    "sla_sweep_health",
]
