"""Partners report back through the API (the core's ``partner_step_report``): with the dealership's
write key, an Idempotency-Key, on the dealership's own files, for the steps a dealership's partners
do; the buyer's status shows the step in plain words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications import services
from applications.choices import PartnerStepKind, PartnerStepStatus, Stage
from applications.models import PartnerStep
from applications.tests.factories import at_offer

from .builders import bearer

pytestmark = pytest.mark.django_db

HOOK = "applications.services.partner_steps.steps_on_stage_entry"
INSURANCE = PartnerStepKind.INSURANCE_POLICY


@pytest.fixture
def signing(settings, customer, dealer, reviewer, approver):
    """A file of the dealership in contract signing: the e-signature and the insurance requested."""
    settings.LOANPORTAL_STAGE_HOOKS = [*settings.LOANPORTAL_STAGE_HOOKS, HOOK]
    now = dt.datetime(2026, 3, 6, 17, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(now, tick=False):
        application = at_offer(customer, dealer, reviewer, approver, now=now)
        return services.offer_accept(application=application, actor=customer, now=now)


def _report(api, application, headers, kind=INSURANCE, key="report-1", **body):
    return api.post(
        f"/api/v1/applications/{application.reference}/partner-steps/{kind}/",
        body or {"status": "done"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


def test_the_dealerships_key_reports_the_insurance_done(api, signing, writer):
    response = _report(api, signing, writer)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == PartnerStepStatus.DONE
    step = PartnerStep.objects.get(application=signing, kind=INSURANCE)
    assert step.status == PartnerStepStatus.DONE
    status = api.get(f"/api/v1/applications/{signing.reference}/", **writer).json()
    words = {s["kind"]: s["words"] for s in status["partner_steps"]}
    assert words[INSURANCE] == "The insurer has issued the vehicle's insurance policy"


def test_a_retried_report_is_answered_once(api, signing, writer):
    first = _report(api, signing, writer, key="same")
    again = _report(api, signing, writer, key="same")
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert signing.events.filter(kind="partner", data__status="done").count() == 1


def test_a_failure_with_a_cause_from_the_catalogue_delays_the_file(api, signing, writer):
    assert _report(api, signing, writer, status="failed", cause="no-such-cause").status_code == 422
    assert _report(api, signing, writer, key="k2", status="failed").status_code == 200
    status = api.get(f"/api/v1/applications/{signing.reference}/", **writer).json()
    assert status["delay"] is not None


def test_a_done_step_cannot_fail_afterwards(api, signing, writer):
    _report(api, signing, writer)
    response = _report(api, signing, writer, key="later", status="failed")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/conflict")


def test_steps_that_are_not_the_dealerships_to_report_answer_403(api, signing, writer):
    response = _report(api, signing, writer, kind=PartnerStepKind.E_SIGNATURE)
    assert response.status_code == 403
    assert (
        PartnerStep.objects.get(application=signing, kind=PartnerStepKind.E_SIGNATURE).status == "requested"
    )


def test_a_step_the_file_does_not_have_answers_404(api, signing, writer):
    assert _report(api, signing, writer, kind=PartnerStepKind.GPS_INSTALLATION).status_code == 404
    assert _report(api, signing, writer, kind="teleportation", key="other").status_code == 404


def test_another_dealerships_key_read_only_revoked_or_no_key(
    api, signing, reader, revoked_key, other_dealer, manager
):
    from api.models import Scope

    from .builders import make_key

    _key, other = make_key(dealer=other_dealer, created_by=manager, scope=Scope.WRITE)
    assert _report(api, signing, bearer(other)).status_code == 404
    assert _report(api, signing, reader).status_code == 403
    assert _report(api, signing, bearer(revoked_key[1])).status_code == 401
    assert _report(api, signing, {}).status_code == 401
    assert PartnerStep.objects.get(application=signing, kind=INSURANCE).status == PartnerStepStatus.REQUESTED
    assert signing.stage == Stage.CONTRACT_SIGNING
