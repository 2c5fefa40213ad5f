"""The cast every test can call on, and the rules for tests that need real servers."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group

from applications.choices import Role


def _needs(server: str, available: bool, hint: str) -> None:
    """Run when the server is configured; skip locally when it is not; fail in CI."""
    if available:
        return
    message = f"needs {server}: set {hint}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must provide it)", pytrace=False)
    pytest.skip(message)


def postgres_configured() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def redis_configured() -> bool:
    return os.environ.get("REDIS_URL", "").startswith("redis://")


@pytest.fixture(autouse=True)
def _server_requirements(request):
    if request.node.get_closest_marker("postgres"):
        _needs("PostgreSQL", postgres_configured(), "DATABASE_URL=postgres://…")
    if request.node.get_closest_marker("worker"):
        _needs("Redis and a Celery worker", redis_configured(), "REDIS_URL=redis://…")


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *roles: str, is_staff: bool | None = None, **fields):
        user = django_user_model.objects.create_user(
            username=username, password="a-Long-passphrase-42", email=f"{username}@example.cn", **fields
        )
        if is_staff is None:
            is_staff = any(role not in (Role.CUSTOMER, Role.DEALER) for role in roles)
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
        user.groups.set([Group.objects.get(name=role) for role in roles])
        return user

    return make


@pytest.fixture
def customer(make_user):
    return make_user("customer", Role.CUSTOMER)


@pytest.fixture
def other_customer(make_user):
    return make_user("other_customer", Role.CUSTOMER)


@pytest.fixture
def dealer_user(make_user, dealer):
    user = make_user("dealer_staff", Role.DEALER)
    dealer.staff.add(user)
    return user


@pytest.fixture
def reviewer(make_user):
    return make_user("reviewer", Role.REVIEWER)


@pytest.fixture
def approver(make_user):
    return make_user("approver", Role.APPROVER)


@pytest.fixture
def operations(make_user):
    return make_user("operations", Role.OPERATIONS)


@pytest.fixture
def finance(make_user):
    return make_user("finance", Role.FINANCE)


@pytest.fixture
def manager(make_user):
    return make_user("manager", Role.MANAGER)


@pytest.fixture
def cast(customer, other_customer, dealer_user, reviewer, approver, operations, finance, manager):
    """Every persona by role name, for permission matrices."""
    return {
        "customer": customer,
        "other_customer": other_customer,
        "dealer": dealer_user,
        "reviewer": reviewer,
        "approver": approver,
        "operations": operations,
        "finance": finance,
        "manager": manager,
    }


@pytest.fixture
def dealer(db):
    from applications.tests.factories import DealerFactory

    return DealerFactory()


@pytest.fixture
def draft(customer, dealer):
    """A complete draft of the customer's, ready to submit."""
    from applications.tests.factories import make_draft

    return make_draft(customer=customer, dealer=dealer)


# --- Browser tests: Debian's Chromium, never a downloaded build ---------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
