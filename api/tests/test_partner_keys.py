"""Partners' own keys: the e-signature service, the credit bureau, the bank report their steps
through the callback with keys of their own (hashed, scoped, revocable, rate-limited, idempotent as
a dealership's), on any file where such a step is open, as the partner itself; nothing else."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import IntegrityError
from django.utils import translation

from api.models import ApiKey, Scope
from api.services import api_key_authenticate, api_key_revoke, partner_key_create
from applications import services
from applications.choices import PartnerStepKind, PartnerStepStatus
from applications.models import PartnerStep
from applications.tests.factories import at_offer

from .builders import bearer

pytestmark = pytest.mark.django_db

HOOK = "applications.services.partner_steps.steps_on_stage_entry"
E_SIGNATURE = PartnerStepKind.E_SIGNATURE
INSURANCE = PartnerStepKind.INSURANCE_POLICY


@pytest.fixture
def signing(settings, customer, dealer, reviewer, approver):
    """A file of the dealership in contract signing: the e-signature and the insurance requested."""
    settings.LOANPORTAL_STAGE_HOOKS = [*settings.LOANPORTAL_STAGE_HOOKS, HOOK]
    now = dt.datetime(2026, 3, 6, 17, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(now, tick=False):
        application = at_offer(customer, dealer, reviewer, approver, now=now)
        return services.offer_accept(application=application, actor=customer, now=now)


@pytest.fixture
def esign_key(manager):
    """The e-signature service's key: it reports e-signatures, nothing else."""
    new = partner_key_create(
        partner_name="e签宝",
        step_kinds=[E_SIGNATURE],
        name="Callbacks",
        scope=Scope.WRITE,
        created_by=manager,
    )
    return new.api_key, new.plaintext


@pytest.fixture
def esign(esign_key):
    return bearer(esign_key[1])


def _report(api, application, headers, kind=E_SIGNATURE, key="report-1", reference=None, **body):
    return api.post(
        f"/api/v1/applications/{reference or application.reference}/partner-steps/{kind}/",
        body or {"status": "done"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


def _step(application, kind=E_SIGNATURE) -> PartnerStep:
    return PartnerStep.objects.get(application=application, kind=kind)


def test_the_partners_key_reports_its_step_as_the_partner(api, signing, esign, esign_key):
    response = _report(api, signing, esign)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == PartnerStepStatus.DONE
    assert _step(signing).status == PartnerStepStatus.DONE
    event = signing.events.get(kind="partner", data__status="done")
    assert event.actor_id is None  # the partner itself, not a user of the portal
    assert esign_key[0].actor_id is None and esign_key[0].dealer_id is None


def test_the_partner_reports_on_any_dealerships_file_by_its_reference_as_typed(api, signing, esign):
    # The file is the dealership's; the partner's key has no dealership and needs none.
    response = _report(api, signing, esign, reference=signing.display_reference.lower(), status="in_progress")
    assert response.status_code == 200, response.content
    assert _step(signing).status == PartnerStepStatus.IN_PROGRESS


def test_another_kind_of_step_answers_403(api, signing, esign):
    response = _report(api, signing, esign, kind=INSURANCE)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/forbidden")
    assert _step(signing, INSURANCE).status == PartnerStepStatus.REQUESTED


def test_a_step_that_is_not_open_or_a_file_without_it_answers_404(api, signing, esign):
    assert _report(api, signing, esign).status_code == 200
    # Done: the file is no longer the partner's to see (a retry with the same key replays, below).
    assert _report(api, signing, esign, key="later", status="failed").status_code == 404
    assert _report(api, signing, esign, key="nowhere", reference="ZZZZZZZZZZ").status_code == 404
    assert _report(api, signing, esign, key="odd", kind="teleportation").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/applications/"),
        ("post", "/api/v1/applications/"),
        ("get", "/api/v1/applications/{reference}/"),
        ("get", "/api/v1/applications/{reference}/history/"),
        ("get", "/api/v1/applications/{reference}/documents/"),
        ("post", "/api/v1/applications/{reference}/documents/"),
    ],
)
def test_every_dealership_endpoint_answers_403(api, signing, esign, method, path):
    url = path.format(reference=signing.reference)
    response = getattr(api, method)(url, HTTP_IDEMPOTENCY_KEY="x1", **esign)
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "A partner's API key may only report its partner steps."


def test_a_revoked_partner_key_answers_401(api, signing, esign, esign_key):
    api_key_revoke(api_key=esign_key[0])
    assert _report(api, signing, esign).status_code == 401
    assert _step(signing).status == PartnerStepStatus.REQUESTED


def test_a_read_only_partner_key_may_not_report(api, signing, manager):
    new = partner_key_create(
        partner_name="e签宝", step_kinds=[E_SIGNATURE], name="Audit", scope=Scope.READ, created_by=manager
    )
    assert _report(api, signing, bearer(new.plaintext)).status_code == 403


def test_a_retried_report_is_answered_once(api, signing, esign):
    first = _report(api, signing, esign, key="same")
    again = _report(api, signing, esign, key="same")
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert signing.events.filter(kind="partner", data__status="done").count() == 1


def test_the_partner_key_has_its_own_rate_limit(api, signing, esign, settings):
    settings.API_RATE_LIMIT = 1
    cache.clear()
    assert _report(api, signing, esign, status="in_progress").status_code == 200
    assert _report(api, signing, esign, key="report-2").status_code == 429
    cache.clear()


def test_the_dealerships_key_is_still_limited_to_its_partners_steps(
    api, signing, writer, other_dealer, manager
):
    from .builders import make_key

    assert _report(api, signing, writer).status_code == 403  # the e-signature: not the dealership's
    assert _report(api, signing, writer, kind=INSURANCE, key="ins").status_code == 200
    _key, other = make_key(dealer=other_dealer, created_by=manager)
    assert _report(api, signing, bearer(other), kind=INSURANCE, key="o").status_code == 404
    assert _step(signing).status == PartnerStepStatus.REQUESTED


def test_a_key_is_a_dealerships_or_a_partners_never_both(dealer, manager, esign_key):
    api_key = esign_key[0]
    with pytest.raises(IntegrityError):
        ApiKey.objects.filter(pk=api_key.pk).update(dealer=dealer)


def test_a_partner_key_needs_known_kinds(manager):
    with pytest.raises(ValueError):
        partner_key_create(
            partner_name="Bank", step_kinds=["teleportation"], name="x", scope=Scope.WRITE, created_by=manager
        )
    with pytest.raises(ValueError):
        partner_key_create(
            partner_name=" ", step_kinds=[E_SIGNATURE], name="x", scope=Scope.WRITE, created_by=manager
        )


# --- The admin ---------------------------------------------------------------------------------


def test_a_manager_creates_a_partner_key_and_sees_its_secret_once(client, manager):
    client.force_login(manager)
    response = client.post(
        "/admin/api/apikey/add/",
        {
            "partner_name": "中国工商银行",
            "step_kinds": [PartnerStepKind.FUNDS_TRANSFER],
            "name": "Transfer confirmations",
            "scope": Scope.WRITE,
        },
    )
    assert response.status_code == 200, response.content
    api_key = ApiKey.objects.get()
    page = response.content.decode()
    assert "中国工商银行" in page
    start = page.index(f"lp_{api_key.prefix}_")
    plaintext = page[start : page.index('"', start)]
    assert api_key_authenticate(presented=plaintext) == api_key
    assert (api_key.dealer, api_key.actor, api_key.partner_name, api_key.step_kinds) == (
        None,
        None,
        "中国工商银行",
        [PartnerStepKind.FUNDS_TRANSFER],
    )
    assert api_key.created_by == manager
    again = client.get(f"/admin/api/apikey/{api_key.pk}/change/")
    assert again.status_code == 200
    assert plaintext not in again.content.decode()
    with translation.override("zh-hans"):  # the admin speaks the site's language
        assert str(PartnerStepKind.FUNDS_TRANSFER.label) in again.content.decode()
    listing = client.get("/admin/api/apikey/").content.decode()
    assert "中国工商银行" in listing


def test_the_admin_refuses_a_key_for_both_or_neither(client, manager, dealer):
    client.force_login(manager)
    both = {"dealer": dealer.pk, "partner_name": "Bank", "name": "x", "scope": Scope.WRITE}
    neither = {"name": "x", "scope": Scope.WRITE}
    no_kinds = {"partner_name": "Bank", "name": "x", "scope": Scope.WRITE}
    for data in (both, neither, no_kinds):
        response = client.post("/admin/api/apikey/add/", data)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("role", ["reviewer", "approver", "dealer"])
def test_only_managers_create_partner_keys(client, cast, role):
    client.force_login(cast[role])
    response = client.post(
        "/admin/api/apikey/add/",
        {
            "partner_name": "Bank",
            "step_kinds": [PartnerStepKind.FUNDS_TRANSFER],
            "name": "x",
            "scope": "write",
        },
    )
    assert response.status_code in (302, 403)
    assert not ApiKey.objects.exists()
