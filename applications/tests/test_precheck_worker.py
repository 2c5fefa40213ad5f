"""End to end through Redis and a real Celery worker process: submit, and the pre-check runs."""

from __future__ import annotations

import pytest

from applications import services
from applications.choices import Stage
from applications.models import LoanApplication
from conftest import wait_for

from .factories import make_draft

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def test_a_real_worker_runs_the_precheck_after_submission(celery_worker_process, customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    services.application_submit(application=application, actor=customer)

    def moved_on():
        stage = LoanApplication.objects.get(pk=application.pk).stage
        return stage if stage not in (Stage.SUBMITTED, Stage.CREDIT_CHECK) else None

    assert wait_for(moved_on) == Stage.AWAITING_DOCUMENTS
    transitions = list(
        LoanApplication.objects.get(pk=application.pk)
        .events.order_by("sequence")
        .values_list("transition", flat=True)
    )
    # The last: the file waits for the customer's documents, and says so (``services.delays``).
    assert transitions == [
        "create",
        "submit",
        "start_credit_check",
        "precheck_needs_documents",
        "delay_cause",
    ]
