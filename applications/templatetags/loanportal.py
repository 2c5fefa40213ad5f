"""Small template helpers for the public site: ``{% load loanportal %}``."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.contrib.messages import constants as message_levels
from django.utils.translation import get_language_info

register = template.Library()

# django.contrib.messages tags a failure "error"; Bootstrap calls that colour "danger".
_ALERT_CLASSES = {
    message_levels.DEBUG: "alert-secondary",
    message_levels.INFO: "alert-info",
    message_levels.SUCCESS: "alert-success",
    message_levels.WARNING: "alert-warning",
    message_levels.ERROR: "alert-danger",
}


# What the language switcher shows: each language in its own words, short enough for a phone's navbar.
_SWITCHER_LABELS = {"zh-hans": "中文", "en": "English"}


@register.simple_tag
def language_choices() -> list[tuple[str, str]]:
    """``(code, label)`` for every language in ``settings.LANGUAGES``, each named in its own language."""
    return [
        (code, _SWITCHER_LABELS.get(code) or get_language_info(code)["name_local"])
        for code, _name in settings.LANGUAGES
    ]


@register.filter
def localized(obj, field: str) -> str:
    """``{{ definition|localized:"title" }}``: a Bilingual object's field in the active language.

    Templates cannot call a method with an argument, so this filter calls ``obj.localized(field)``.
    """
    if obj is None:
        return ""
    return obj.localized(field)


@register.filter
def alert_class(message) -> str:
    """The Bootstrap alert class for a django.contrib.messages message."""
    return _ALERT_CLASSES.get(message.level, "alert-info")
