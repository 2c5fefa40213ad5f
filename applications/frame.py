"""The site's frame: what other apps show around every page for this visitor.

A page that answers conditional GETs (the customer timeline) must change its ETag when the frame
changes, e.g. the inbox badge's count. The core cannot ask the apps that own those parts without
importing them, so each lists a callable in ``settings.LOANPORTAL_FRAME_PARTS``: it takes the
request and returns a short text that changes whenever its part of the frame does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

FramePart = Callable[[HttpRequest], str]


@cache
def _load(paths: tuple[str, ...]) -> tuple[FramePart, ...]:
    return tuple(import_string(path) for path in paths)


def frame_version(request: HttpRequest) -> tuple[str, ...]:
    """Each listed part's text for this visitor, in the order the setting lists them."""
    return tuple(part(request) for part in _load(tuple(settings.LOANPORTAL_FRAME_PARTS)))
