"""How long a signed-in session lasts, and ending them all.

Staff sessions end after ``SESSION_IDLE_SECONDS_STAFF`` (30 minutes) without a request and
``SESSION_ABSOLUTE_SECONDS_STAFF`` (12 hours) after signing in, whatever happens in between;
customers' after ``SESSION_IDLE_SECONDS_CUSTOMER`` (2 hours) without a request. The limits are
chosen when the person signs in (``user_logged_in``) and kept in the session itself, so
``SessionLimitsMiddleware`` checks them from the session alone, without loading the user. The
session's own expiry (cookie and store) is the idle limit plus ``SESSION_KEPT_AFTER_IDLE_SECONDS``
(an hour), moved on at most once every ``SESSION_REFRESH_SECONDS``; the margin keeps an idle session
in the store past its limit, so that the visitor who comes back is told why they were signed out
(were the store to drop it at the limit, they would only meet the sign-in page). The check here,
not the store, ends it at the limit. An active visitor's session is thus written about once a minute, not on
every request (the timeline answers a reload with three queries; a write on each would double it).

"Sign out everywhere" raises the account's ``session_generation``, which ``User`` mixes into the
auth hash Django keeps in every session: Django's own check refuses each older session on its
next request, in every store, without a list of sessions to find and delete.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import SecurityEvent, User

logger = logging.getLogger("loanportal.security")

LIMITS_KEY = "_lp_session_limits"


@dataclass(frozen=True)
class SessionLimits:
    idle: int  # seconds without a request; 0: none (Django's SESSION_COOKIE_AGE alone)
    absolute: int  # seconds after signing in; 0: none


def limits_for(user: User) -> SessionLimits:
    if user.is_staff:
        return SessionLimits(settings.SESSION_IDLE_SECONDS_STAFF, settings.SESSION_ABSOLUTE_SECONDS_STAFF)
    return SessionLimits(settings.SESSION_IDLE_SECONDS_CUSTOMER, settings.SESSION_ABSOLUTE_SECONDS_CUSTOMER)


def _now() -> int:
    return int(timezone.now().timestamp())


def session_limits_start(*, request: HttpRequest, user: User) -> None:
    """Start the clocks of a session that has just signed in (``user_logged_in``)."""
    limits = limits_for(user)
    now = _now()
    request.session[LIMITS_KEY] = {
        "since": now,
        "seen": now,
        "idle": limits.idle,
        "absolute": limits.absolute,
    }
    if limits.idle:
        request.session.set_expiry(limits.idle + settings.SESSION_KEPT_AFTER_IDLE_SECONDS)


def _on_user_logged_in(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        session_limits_start(request=request, user=user)


class SessionLimitsMiddleware:
    """Ends a signed-in session past its idle or absolute limit; keeps an active one alive.

    After ``AuthenticationMiddleware`` and ``MessageMiddleware``: it signs out through
    ``django.contrib.auth.logout`` and says why. The request then goes on as a visitor's, so a page
    that needs signing in sends them to the sign-in page as usual."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if session.get(SESSION_KEY) is not None:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session = request.session
        limits = session.get(LIMITS_KEY)
        if limits is None:  # signed in before the limits existed: they start now
            if request.user.is_authenticated:
                session_limits_start(request=request, user=request.user)
            return
        now = _now()
        if limits["idle"] and now - limits["seen"] >= limits["idle"]:
            logout(request)
            messages.info(
                request, _("You were signed out after a period without activity. Please sign in again.")
            )
        elif limits["absolute"] and now - limits["since"] >= limits["absolute"]:
            logout(request)
            messages.info(request, _("Your session has reached its time limit. Please sign in again."))
        elif limits["idle"] and now - limits["seen"] >= settings.SESSION_REFRESH_SECONDS:
            session[LIMITS_KEY] = {**limits, "seen": now}  # saved by SessionMiddleware: expiry moves on
            session.set_expiry(limits["idle"] + settings.SESSION_KEPT_AFTER_IDLE_SECONDS)


@transaction.atomic
def user_sign_out_everywhere(*, user: User, actor: User) -> SecurityEvent:
    """End every session of ``user`` (the one asking included); ``actor`` is who asked."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    event = SecurityEvent.objects.create(
        at=timezone.now(), kind=SecurityEvent.Kind.SIGNED_OUT_EVERYWHERE, actor=actor, user=user
    )
    logger.info("sessions ended: user=%s by=%s", user.pk, actor.pk)
    return event
