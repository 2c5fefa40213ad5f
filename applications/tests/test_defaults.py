"""The default data every installation starts with, loaded by the data migrations and loaded again
by the test suite after a flush (the root conftest): loading it twice must change nothing."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from api import defaults as api_defaults
from applications import defaults as applications_defaults
from applications.defaults.calendar import calendar_days
from applications.defaults.configuration import DOCUMENT_TYPES, PRODUCTS, REASONS, STAGES
from applications.defaults.roles import ROLES
from applications.models import CalendarDay, DocumentType, LoanProduct, Reason, StageDefinition
from notifications import defaults as notifications_defaults
from reviews import defaults as reviews_defaults
from reviews.models import AssignmentRule

pytestmark = pytest.mark.django_db


def rows() -> dict[str, object]:
    return {
        "stages": StageDefinition.objects.count(),
        "document types": DocumentType.objects.count(),
        "reasons": Reason.objects.count(),
        "products": LoanProduct.objects.count(),
        "calendar days": CalendarDay.objects.count(),
        "rules": AssignmentRule.objects.count(),
        "permissions by group": {
            group.name: sorted(group.permissions.values_list("codename", flat=True))
            for group in Group.objects.order_by("name")
        },
    }


def test_the_migrations_loaded_every_default():
    loaded = rows()
    assert (loaded["stages"], loaded["document types"], loaded["reasons"], loaded["products"]) == (
        len(STAGES),
        len(DOCUMENT_TYPES),
        len(REASONS),
        len(PRODUCTS),
    )
    assert loaded["calendar days"] == len(list(calendar_days()))
    assert loaded["rules"] == len(reviews_defaults.RULES)
    assert set(loaded["permissions by group"]) == set(ROLES)
    manager = set(loaded["permissions by group"]["manager"])
    assert (
        set(reviews_defaults.MANAGER_PERMISSIONS) | set(notifications_defaults.MANAGER_PERMISSIONS) <= manager
    )


def test_loading_the_defaults_again_changes_nothing():
    before = rows()

    for load in (
        applications_defaults.load,
        reviews_defaults.load,
        notifications_defaults.load,
        api_defaults.load,
    ):
        load(apps)

    assert rows() == before
