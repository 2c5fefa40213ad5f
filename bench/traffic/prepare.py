"""``make load``'s in-process preparation on the target database. Run by ``bench/traffic/run.py`` as

    DJANGO_SETTINGS_MODULE=bench.traffic.settings LOAD_EAGER=1 python -m bench.traffic.prepare OUT.json

with the fake provider already listening (the preparation's own notices are sent to it). It
writes one JSON document (``OUT.json``) that the locustfile reads:

- ``customers``: new customers (``load-<UTC time>-<n>``), each with files built through the
  services as ``make bench``'s are (``bench.prepare.application_in_review``: a draft, the applicant,
  consents, the review's documents, submitted, the pre-check passed) and moved on by the member of
  staff holding them: every customer has one in credit review, some one awaiting documents and
  some an offer to answer. With each, the session and CSRF cookies a browser holds after signing in.
- ``staff``: up to ``LOAD_STAFF_PER_ROLE`` active reviewers, approvers, operations and finance users
  (the seeded ones), signed in; ``managers``: one manager, signed in.
- ``dealers``: for each of the first ``LOAD_DEALERS`` dealerships, an API key with the write scope
  and a webhook endpoint for every event at the fake receiver (``LOAD_RECEIVER_URL``, plain http
  on 127.0.0.1: ``bench.traffic.settings`` allows it). Endpoints of earlier load runs are switched
  off first, so a receiver of an earlier run is not posted to.
- ``marks``: the largest ids of the history, the deliveries and the webhook deliveries before it
  began: what comes after is the run's (``bench/traffic/invariants.py``).
- ``documents``: the codes of the documents a credit review needs (what customers upload);
  ``standard_product`` and ``dealer_ids``: what a new application chooses.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
from importlib import import_module
from typing import Any

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import IntegrityError, transaction  # noqa: E402
from django.middleware.csrf import rotate_token  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from accounts.roles import Role  # noqa: E402
from api.models import Scope  # noqa: E402
from api.services import api_key_create  # noqa: E402
from applications import owners, services  # noqa: E402
from applications.choices import Stage  # noqa: E402
from applications.models import Dealer, DocumentType, LoanApplication, LoanProduct, Reason  # noqa: E402
from bench.prepare import SHORT, application_in_review  # noqa: E402
from bench.traffic.invariants import backlog  # noqa: E402
from notifications.webhooks.choices import WebhookEvent  # noqa: E402
from notifications.webhooks.models import WebhookEndpoint  # noqa: E402
from notifications.webhooks.services import webhook_endpoint_create  # noqa: E402

ENDPOINT_NAME = "make load: fake receiver"
CUSTOMER_BACKEND = "accounts.backends.PhoneOrEmailBackend"
STAFF_BACKEND = "django.contrib.auth.backends.ModelBackend"
STAFF_ROLES = (Role.REVIEWER, Role.APPROVER, Role.OPERATIONS, Role.FINANCE)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def signed_in(user, backend: str) -> dict[str, str]:
    """The cookies a browser holds after signing in: the session (as the sign-in view leaves it)
    and the CSRF cookie that signing in renews; the CSRF secret is also the form token."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    request = RequestFactory().post("/accounts/login/")
    rotate_token(request)
    return {
        settings.SESSION_COOKIE_NAME: session.session_key,
        settings.CSRF_COOKIE_NAME: request.META["CSRF_COOKIE"],
    }


def new_customer(stamp: str, number: int):
    """A customer as one who signed up with a mobile number, a name and an e-mail address (so both
    channels are used); a random mobile number, drawn again if taken."""
    group = Group.objects.get(name=Role.CUSTOMER)
    for _attempt in range(20):
        user = get_user_model()(
            username=f"load-{stamp}-{number}",
            first_name="测试",
            last_name="载",
            email=f"load-{stamp}-{number}@example.cn",
        )
        user.set_phone(f"137{random.randrange(10**8):08d}")
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            continue
        user.groups.add(group)
        return user
    raise RuntimeError("no free mobile number after 20 tries")


def _holder(application: LoanApplication, otherwise):
    held_by = owners.owner_id(application.pk)
    return get_user_model().objects.get(pk=held_by) if held_by is not None else otherwise


def customer_files(customer, number: int, staff: dict[str, Any]) -> list[dict[str, str]]:
    """One file in credit review; every third customer also one awaiting documents, every second
    one an offer to answer."""
    files = [application_in_review(customer, events=SHORT)]
    if number % 3 == 0:
        asked = application_in_review(customer, events=SHORT)
        files.append(
            services.review_request_documents(
                application=asked,
                actor=_holder(asked, staff[Role.REVIEWER]),
                document_types=[DocumentType.objects.get(code="bank_statement")],
                reason=Reason.objects.get(code="more_income_proof"),
            )
        )
    if number % 2 == 0:
        application = application_in_review(customer, events=SHORT)
        application = services.review_recommend(
            application=application, actor=_holder(application, staff[Role.REVIEWER])
        )
        files.append(
            services.approval_approve(
                application=application,
                actor=_holder(application, staff[Role.APPROVER]),
                amount=application.requested_amount,
                rate=application.product.rate_range_for(application.powertrain)[0],
                term_months=application.term_months,
            )
        )
    return [{"reference": f.reference, "id": str(f.pk), "stage": f.stage} for f in files]


def staff_of(role: str, count: int) -> list:
    users = get_user_model().objects.filter(is_active=True, is_staff=True, groups__name=role)
    chosen = list(users.filter(username__startswith="demo_").order_by("username")[:count])
    if len(chosen) < count:
        chosen += list(users.exclude(pk__in=[u.pk for u in chosen]).order_by("pk")[: count - len(chosen)])
    if not chosen:
        raise RuntimeError(f"no active {role}: seed the database first")
    return chosen


def dealer_keys(receiver_url: str, count: int, manager) -> list[dict[str, Any]]:
    WebhookEndpoint.objects.filter(name=ENDPOINT_NAME, active=True).update(active=False)
    answer = []
    for dealer in Dealer.objects.order_by("pk")[:count]:
        key = api_key_create(dealer=dealer, name="make load", scope=Scope.WRITE, created_by=manager)
        endpoint, _secret = webhook_endpoint_create(
            dealer=dealer,
            url=f"{receiver_url}/hooks/{dealer.pk}/",
            events=WebhookEvent.values,
            name=ENDPOINT_NAME,
        )
        answer.append({"dealer_id": dealer.pk, "key": key.plaintext, "endpoint_id": endpoint.pk})
    return answer


def marks() -> dict[str, int]:
    """The largest ids before the run: what comes after is the run's (read by primary key)."""
    from django.db.models import Max

    from applications.models import StageEvent
    from notifications.models import Delivery
    from notifications.webhooks.models import WebhookDelivery

    return {
        name: model.objects.aggregate(m=Max("pk"))["m"] or 0
        for name, model in (("event", StageEvent), ("delivery", Delivery), ("webhook", WebhookDelivery))
    }


def main(out: str) -> None:
    started = time.perf_counter()
    before = marks()
    waiting = backlog()  # before the run: not its work, but sent (and swept) meanwhile
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    per_role = _env_int("LOAD_STAFF_PER_ROLE", 3)
    staff_users = {role: staff_of(role, per_role) for role in STAFF_ROLES}
    first = {role: users[0] for role, users in staff_users.items()}
    manager = staff_of(Role.MANAGER, 1)[0]
    customers = []
    for number in range(_env_int("LOAD_CUSTOMERS", 30)):
        customer = new_customer(stamp, number)
        customers.append(
            {
                "username": customer.get_username(),
                "user_id": customer.pk,
                "cookies": signed_in(customer, CUSTOMER_BACKEND),
                "files": customer_files(customer, number, first),
            }
        )
    review_documents = list(
        DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW).values_list("code", flat=True)
    )
    answer = {
        "prepared_at": time.time(),
        "marks": before,
        "backlog": waiting,
        "customers": customers,
        "staff": [
            {
                "role": str(role),
                "username": u.get_username(),
                "user_id": u.pk,
                "cookies": signed_in(u, STAFF_BACKEND),
            }
            for role, users in staff_users.items()
            for u in users
        ],
        "managers": [
            {
                "username": manager.get_username(),
                "user_id": manager.pk,
                "cookies": signed_in(manager, STAFF_BACKEND),
            }
        ],
        "dealers": dealer_keys(os.environ["LOAD_RECEIVER_URL"], _env_int("LOAD_DEALERS", 3), manager),
        "documents": review_documents,
        "standard_product": LoanProduct.objects.get(code="standard").pk,
        "dealer_ids": list(Dealer.objects.order_by("pk").values_list("pk", flat=True)[:10]),
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "seconds": 0.0,
    }
    answer["seconds"] = time.perf_counter() - started
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(answer, handle, indent=1, ensure_ascii=False)
    print(
        f"prepared {len(customers)} customers ({sum(len(c['files']) for c in customers)} files), "
        f"{len(answer['staff'])} staff, {len(answer['dealers'])} dealer keys in {answer['seconds']:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv[1])
