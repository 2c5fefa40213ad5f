"""Each back-office button's form asks for what its transition needs, as the core's registry of
transitions says: a catalogue reason of exactly the kind the service will insist on, or none."""

from __future__ import annotations

import pytest

from applications.choices import Stage
from applications.transitions import TRANSITIONS
from reviews.transitions import STAFF_TRANSITIONS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", sorted(STAFF_TRANSITIONS))
def test_the_form_offers_the_reasons_the_transition_needs(pipeline, name):
    application = pipeline.new(Stage.APPROVAL)  # has a product: the approval form reads it
    form = STAFF_TRANSITIONS[name].form_class(application=application, prefix=name)
    reason_kind = TRANSITIONS[name].reason_kind

    if reason_kind is None:
        assert "reason" not in form.fields
        return
    offered = form.fields["reason"].queryset
    assert set(offered.values_list("kind", flat=True)) == {reason_kind}
    assert form.fields["reason"].required
