"""Hand-built histories for the report's tests.

The report reads only the history (``StageEvent`` transitions: stage, time, recorded due time,
the stay each ends, actor) and a few columns of the application. To state every time and due
time exactly — to the second, on both sides of a range's edge — the tests make the draft through
the services and then write its transitions directly. (Their hash chain is not kept: nothing
here verifies it. The services' own recording of due times is tested in ``test_recording.py``.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from applications.choices import EventKind, Powertrain, Stage
from applications.models import LoanApplication, StageEvent
from applications.tests.factories import make_draft

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 11) -> dt.datetime:
    """A moment of 2026 in Shanghai time."""
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Step:
    to: str
    at: dt.datetime
    due: dt.datetime | None = None
    actor: object = None
    kind: str = EventKind.TRANSITION


def file_with_history(
    *,
    customer,
    dealer,
    steps: list[Step],
    product_code: str = "standard",
    powertrain: str = Powertrain.FUEL,
    vehicle_price: Decimal = Decimal("200000.00"),
    down_payment: Decimal = Decimal("60000.00"),
    requested_amount: Decimal = Decimal("140000.00"),
    term_months: int = 36,
    monthly_income: Decimal = Decimal("25000.00"),
) -> LoanApplication:
    """A draft (through the services) followed by ``steps``: transitions, or other events (a
    document) when a step's kind says so. The application ends in the last transition's stage,
    entered at its time, due at its due time; submitted at the transition into ``submitted``."""
    application = make_draft(
        customer=customer,
        dealer=dealer,
        product_code=product_code,
        powertrain=powertrain,
        vehicle_price=vehicle_price,
        down_payment=down_payment,
        requested_amount=requested_amount,
        term_months=term_months,
        monthly_income=monthly_income,
    )
    sequence, stage = application.event_count, Stage.DRAFT
    events, submitted_at, entered_at, due_at = [], None, application.stage_entered_at, None
    for step in steps:
        sequence += 1
        transition = step.kind == EventKind.TRANSITION
        events.append(
            StageEvent(
                application=application,
                sequence=sequence,
                kind=step.kind,
                transition="hand_built" if transition else "",
                from_stage=stage,
                to_stage=step.to if transition else stage,
                actor=step.actor,
                created_at=step.at,
                due_at=step.due if transition else None,
                # The stay a transition ends, as the services record it.
                stay_started_at=entered_at if transition else None,
                stay_due_at=due_at if transition else None,
                prev_hash="",
                hash="",
            )
        )
        if transition:
            stage, entered_at, due_at = step.to, step.at, step.due
            if step.to == Stage.SUBMITTED:
                submitted_at = step.at
    StageEvent.objects.bulk_create(events)
    # A queryset update: the report's test data, not a transition (the services guard those).
    LoanApplication.objects.filter(pk=application.pk).update(
        stage=stage,
        stage_entered_at=entered_at,
        stage_due_at=due_at,
        submitted_at=submitted_at,
        event_count=sequence,
    )
    application.refresh_from_db()
    return application


def step_added(application: LoanApplication, step: Step) -> LoanApplication:
    """One more transition written at the end of ``application``'s history (recorded now, after
    whatever was rolled up), as ``file_with_history`` writes them."""
    application.refresh_from_db()
    StageEvent.objects.create(
        application=application,
        sequence=application.event_count + 1,
        kind=EventKind.TRANSITION,
        transition="hand_built",
        from_stage=application.stage,
        to_stage=step.to,
        actor=step.actor,
        created_at=step.at,
        due_at=step.due,
        stay_started_at=application.stage_entered_at,
        stay_due_at=application.stage_due_at,
        prev_hash="",
        hash="",
    )
    LoanApplication.objects.filter(pk=application.pk).update(
        stage=step.to,
        stage_entered_at=step.at,
        stage_due_at=step.due,
        event_count=application.event_count + 1,
    )
    application.refresh_from_db()
    return application
