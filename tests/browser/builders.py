"""Data for the browser tests, built through the services as everywhere else."""

from __future__ import annotations

from applications import services
from applications.choices import Stage
from applications.models import LoanApplication, StageDefinition
from applications.tests.factories import make_draft
from reviews.tests.builders import upload


def in_review(*, customer, dealer, **draft) -> LoanApplication:
    """A submitted application with every required document on file: the pre-check (run on commit,
    as in production) sends it straight to review, where the rules assign it."""
    application = make_draft(customer=customer, dealer=dealer, **draft)
    for code in StageDefinition.objects.get(stage=Stage.UNDER_REVIEW).required_document_types.values_list(
        "code", flat=True
    ):
        upload(application, code, customer)
    services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW, application.stage
    return application
