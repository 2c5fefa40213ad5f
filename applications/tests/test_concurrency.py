"""Two people act on one application at the same moment: exactly one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from applications import services
from applications.choices import EventKind, Stage
from applications.models import LoanApplication, Reason, StageEvent

from .factories import make_draft, put_required_documents

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*actions) -> list[object]:
    """Run each action in its own thread and database connection, released together."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            results[index] = action()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("attempt", range(5))
def test_two_concurrent_transitions_exactly_one_succeeds(attempt, customer, dealer, reviewer, make_user):
    # A team lead (reviewer and manager): staff act only on files they hold, managers on any.
    second_reviewer = make_user("reviewer_two", "reviewer", "manager")
    application = make_draft(customer=customer, dealer=dealer)
    put_required_documents(application, uploaded_by=customer)
    # The submission commits, so the (eager) pre-check runs at once and passes to review.
    services.application_submit(application=application, actor=customer)
    application = LoanApplication.objects.get(pk=application.pk)
    assert application.stage == Stage.UNDER_REVIEW
    # Both reviewers opened the same page: each holds its own copy at under_review.
    copy_a = LoanApplication.objects.get(pk=application.pk)
    copy_b = LoanApplication.objects.get(pk=application.pk)
    transitions = StageEvent.objects.filter(application=application, kind=EventKind.TRANSITION)
    transitions_before = transitions.count()
    credit_history = Reason.objects.get(code="credit_history")

    results = _race(
        lambda: services.review_recommend(application=copy_a, actor=reviewer),
        lambda: services.review_reject(application=copy_b, actor=second_reviewer, reason=credit_history),
    )

    winners = [r for r in results if isinstance(r, LoanApplication)]
    losers = [r for r in results if isinstance(r, services.TransitionError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], services.StaleApplication)
    final = LoanApplication.objects.get(pk=application.pk)
    assert final.stage == winners[0].stage
    assert final.stage in (Stage.APPROVAL, Stage.REJECTED)
    assert transitions.count() == transitions_before + 1  # the loser wrote nothing
    assert final.event_count == StageEvent.objects.filter(application=application).count()
