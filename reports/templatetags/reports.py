"""Template helpers of the reports: ``{% load reports %}``."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from ..permissions import is_manager as _is_manager

register = template.Library()


@register.filter
def is_manager(user) -> bool:
    """``{% if user.is_staff and user|is_manager %}``: managers and superusers read the reports."""
    return _is_manager(user)


@register.filter
def duration(seconds: float | None) -> str:
    """A duration in the unit that reads best: minutes under an hour, hours under two days, then days."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return _("%(minutes)s min") % {"minutes": round(seconds / 60)}
    if seconds < 48 * 3600:
        return _("%(hours)s h") % {"hours": f"{seconds / 3600:.1f}"}
    return _("%(days)s d") % {"days": f"{seconds / 86400:.1f}"}


@register.filter
def percent(share: float | None, digits: int = 1) -> str:
    """A share (0–1) in per cent, one decimal unless told; a dash when there is nothing to divide."""
    if share is None:
        return "—"
    return f"{share * 100:.{int(digits)}f}%"
