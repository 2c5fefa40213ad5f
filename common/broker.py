"""Handing a task to the broker from a request, without making the request wait on a broker that
is away.

Everything a request queues is already written down in the database (a delivery row, a submitted
application) and a sweep queues it again if the message never arrives: the relay every
``DELIVERY_RELAY_INTERVAL`` seconds, the pre-check sweep every minute. So a publish that fails is
logged and left to the sweep, and the request goes on. A publish fails fast when Redis is stopped
(connection refused, no retry: ``CELERY_TASK_PUBLISH_RETRY``), but waits up to the broker's socket
timeouts when it is hung (connected, silent); so after a failure this process does not try the
broker again for ``BROKER_RETRY_AFTER`` seconds, and only one request in that time pays the wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)

# time.monotonic() before which this process does not try the broker.
_away_until = 0.0


def publish(send: Callable[[], object], *, what: str) -> bool:
    """Call ``send`` (a ``task.delay(…)`` in a lambda); True if the broker took the message, False
    if it failed or was given up on a moment ago (logged: ``what`` names the work for the log)."""
    global _away_until
    now = time.monotonic()
    if now < _away_until:
        logger.warning("Broker away a moment ago: not queueing %s; its sweep will.", what)
        return False
    try:
        send()
    except (KombuError, OSError) as error:  # refused, timed out, reset: the broker is away
        _away_until = time.monotonic() + settings.BROKER_RETRY_AFTER
        logger.error(
            "Could not queue %s (%s: %s); its sweep will. Not trying the broker again for %s s.",
            what,
            type(error).__name__,
            error,
            settings.BROKER_RETRY_AFTER,
        )
        return False
    except Exception:  # anything else (a task run eagerly that failed): the request still goes on
        logger.exception("Could not queue %s; its sweep will.", what)
        return False
    return True


def broker_reset() -> None:
    """Forget a failure (tests; a process may also call it when it knows the broker is back)."""
    global _away_until
    _away_until = 0.0
