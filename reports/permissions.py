"""Who may read the reports: managers (the ``manager`` role group) and superusers."""

from __future__ import annotations

from accounts.roles import Role


def is_manager(user) -> bool:
    """True for an active manager or superuser. One query the first time for a user object (the
    request's user), then remembered on it: the navbar and the view ask the same question."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not hasattr(user, "_lp_is_manager"):
        user._lp_is_manager = user.groups.filter(name=Role.MANAGER).exists()
    return user._lp_is_manager
