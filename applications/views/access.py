"""Who a customer page is for: customers. Staff who reach one are told where their work is."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

STAFF_ON_CUSTOMER_PAGE = _("This page is for customers: staff work in the back office.")


def is_staff_only(user) -> bool:
    """Staff who are not customers too. A member of staff may buy a car like anyone (the customer
    role, as the apply pages ask); only they cost a permission lookup, customers none."""
    return user.is_staff and not user.has_perm("applications.act_as_applicant")


def customers_only(view):
    """Staff get the 403 page (templates/403.html), which sends them to the back office, instead of
    an empty "My applications" or a 404 that looks like a broken link. Put it under
    ``login_required``, so an anonymous visitor is still asked to sign in first."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if is_staff_only(request.user):
            request.staff_on_customer_page = True  # read by templates/403.html
            raise PermissionDenied(STAFF_ON_CUSTOMER_PAGE)
        return view(request, *args, **kwargs)

    return wrapped
