"""The SLA sweep's health on the admin index, for managers."""

from __future__ import annotations

from django import template

from accounts.roles import Role

from ..services import sla_sweep_health

register = template.Library()


@register.simple_tag
def sla_sweep_status(user) -> dict | None:
    """{"last": time or None, "stale": bool} for a manager or superuser; None for anyone else."""
    if not (user.is_superuser or user.groups.filter(name=Role.MANAGER).exists()):
        return None
    last, stale = sla_sweep_health()
    return {"last": last, "stale": stale}
