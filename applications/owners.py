"""Who owns a file now, as the back office says: the core asks, it never imports the back office.

``settings.LOANPORTAL_OWNER_SELECTOR`` names a callable that takes application ids and returns
``{application id: user id}`` for the files someone holds now (the back office's open assignments,
``reviews.selectors.current_assignees``). The transition path asks it so that a member of staff
does not act on a file a colleague holds; the SLA reminders ask the same selector. An empty setting
means nobody owns anything: every permitted person may act, as before assignments existed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

OwnerSelector = Callable[[Collection[int]], Mapping[int, int]]


@cache
def _selector(path: str) -> OwnerSelector | None:
    # Keyed by the dotted path, so a changed setting (a test's) finds its own callable: nothing to
    # invalidate.
    if not path:
        return None
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"LOANPORTAL_OWNER_SELECTOR: cannot import {path} ({exc}).") from exc


def owner_id(application_id: int) -> int | None:
    """The id of the person who holds the application now, or None (one query in the back office)."""
    selector = _selector(settings.LOANPORTAL_OWNER_SELECTOR or "")
    if selector is None:
        return None
    return selector([application_id]).get(application_id)
