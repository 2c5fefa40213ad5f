"""The portal's URLs plus the baseline views, under the bench settings only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from loanportal.urls import urlpatterns as portal_urlpatterns


def ping(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do: the same server, workers and middleware (session, locale,
    CSRF, authentication, messages, axes) as every page, then a fixed answer. Every page's figure is
    a ratio to this one, so the machine and the server settings cancel out."""
    return HttpResponse(b"pong", content_type="text/plain")


def one_query(request: HttpRequest) -> HttpResponse:
    """The minimal view plus one round trip to the database (``SELECT 1``), after Django's health
    check of the connection as on every page: the least any page that reads the database costs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse(b"one", content_type="text/plain")


# The site's frame with nothing in it: the base template (navigation, the unread count) for the
# signed-in user. The timeline's second baseline: what any page of the site costs before its content.
_EMPTY_PAGE = engines["django"].from_string('{% extends "base.html" %}')


@login_required
def empty(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_EMPTY_PAGE.render({}, request))


urlpatterns = [
    path("bench/ping/", ping, name="bench-ping"),
    path("bench/one-query/", one_query, name="bench-one-query"),
    path("bench/empty/", empty, name="bench-empty"),
    *portal_urlpatterns,
]
