"""End to end through Redis and a real Celery worker process: the sandbox partner answers a step
asked for again, under way and then done, each after its delay."""

from __future__ import annotations

import pytest

from applications import services
from applications.choices import EventKind, PartnerStepKind, PartnerStepStatus
from applications.models import PartnerStep
from conftest import wait_for
from tests.browser.builders import at_offer

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

HOOK = "applications.services.partner_steps.steps_on_stage_entry"


@pytest.fixture
def insurance(customer, dealer, reviewer, approver, settings, monkeypatch) -> PartnerStep:
    """A file in contract signing (built before the worker starts: its tasks run in-process), and
    the worker's sandbox delay set to one second."""
    monkeypatch.setenv("PARTNER_SANDBOX_DELAY_SECONDS", "1")
    settings.LOANPORTAL_STAGE_HOOKS = [*settings.LOANPORTAL_STAGE_HOOKS, HOOK]
    application = at_offer(customer=customer, dealer=dealer, reviewer=reviewer, approver=approver)
    application = services.offer_accept(application=application, actor=customer)
    return PartnerStep.objects.get(application=application, kind=PartnerStepKind.INSURANCE_POLICY)


def test_a_real_worker_runs_the_sandbox_partner(insurance, celery_worker_process, settings):
    settings.PARTNER_SANDBOX = True
    settings.PARTNER_SANDBOX_DELAY_SECONDS = 1
    step = services.partner_step_report(step=insurance, status=PartnerStepStatus.FAILED)
    services.partner_step_report(step=step, status=PartnerStepStatus.REQUESTED)  # queued on commit

    def done():
        return PartnerStep.objects.filter(pk=step.pk, status=PartnerStepStatus.DONE).exists()

    assert wait_for(done, timeout=30)
    statuses = [
        e.data["status"]
        for e in step.application.events.filter(kind=EventKind.PARTNER).order_by("sequence")
        if e.data["step"] == step.pk
    ]
    assert statuses[-3:] == [
        PartnerStepStatus.REQUESTED,
        PartnerStepStatus.IN_PROGRESS,
        PartnerStepStatus.DONE,
    ]
