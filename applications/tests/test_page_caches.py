"""What the busy customer pages keep in the cache, and when a change shows.

The configuration (stage definitions, document types, reasons) is read from the cache until a row
of it changes; the timeline's body is kept per version of the file, so an event, an upload or a
staff change shows on the next view, in the visitor's language, and only to the file's owner.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import transaction

from applications import reference, services
from applications.choices import EventKind, Stage
from applications.models import DOCUMENTS_STAGE, DocumentType, Reason, StageDefinition
from applications.selectors import application_timeline

from .test_timeline import _grow_history, detail_url, in_review, text_of, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def timeline_cache(settings):
    settings.TIMELINE_CACHE_SECONDS = 60


# --- The configuration ---------------------------------------------------------------------------


def test_the_configuration_is_read_once_then_from_the_cache(django_assert_num_queries):
    with django_assert_num_queries(3):  # stage definitions, document types, reasons
        first = reference.reference_data()
    with django_assert_num_queries(0):
        again = reference.reference_data()
    assert again.definitions.keys() == first.definitions.keys() and Stage.UNDER_REVIEW in again.definitions
    assert again.document_types["id_card_front"].required_for_review is True
    assert again.document_types["bank_statement"].required_for_review is False
    assert "more_income_proof" in again.reasons


def test_an_edited_stage_definition_shows_on_the_next_read(django_capture_on_commit_callbacks):
    assert reference.reference_data().definitions[Stage.UNDER_REVIEW].title_en != "Checked by hand"
    definition = StageDefinition.objects.get(stage=Stage.UNDER_REVIEW)
    definition.title_en = "Checked by hand"
    with django_capture_on_commit_callbacks(execute=True):
        definition.save()
    assert reference.reference_data().definitions[Stage.UNDER_REVIEW].title_en == "Checked by hand"


def test_required_documents_and_reasons_changed_in_the_admin_show_too(django_capture_on_commit_callbacks):
    bank_statement = DocumentType.objects.get(code="bank_statement")
    review = StageDefinition.objects.get(stage=DOCUMENTS_STAGE)
    assert reference.reference_data().document_types["bank_statement"].required_for_review is False
    with django_capture_on_commit_callbacks(execute=True):
        review.required_document_types.add(bank_statement)
    assert reference.reference_data().document_types["bank_statement"].required_for_review is True

    with django_capture_on_commit_callbacks(execute=True):
        Reason.objects.filter(code="more_income_proof").first().delete()
    assert "more_income_proof" not in reference.reference_data().reasons


def test_nothing_changes_until_the_change_commits():
    definition = StageDefinition.objects.get(stage=Stage.UNDER_REVIEW)
    before = reference.reference_data()
    with transaction.atomic():
        definition.title_en = "Not yet"
        definition.save()  # the new version is stored on commit, which the test's rollback never does
        assert reference.reference_data().version == before.version


def test_a_copy_loaded_while_a_change_committed_is_never_used(django_assert_num_queries):
    """A reader that began loading before a change and stores its copy after it stores it under the
    old version: the next reader loads again instead of using the stale copy."""
    stale = reference._load(reference.reference_data().version)  # began before the change
    cache.set(reference.VERSION_KEY, "after-the-change")  # the change commits
    cache.set(reference.DATA_KEY, stale)  # the slow reader stores what it read
    with django_assert_num_queries(3):
        fresh = reference.reference_data()
    assert fresh.version == "after-the-change"


def test_an_emptied_cache_starts_a_new_version(django_assert_num_queries):
    reference.reference_data()
    cache.clear()
    with django_assert_num_queries(3):
        data = reference.reference_data()
    assert data.version == cache.get(reference.VERSION_KEY)


# --- The timeline's body -------------------------------------------------------------------------


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def test_a_second_view_reads_only_the_user_the_file_and_the_unread_count(
    client, customer, dealer, timeline_cache, django_assert_num_queries
):
    application = in_review(customer, dealer)
    client.force_login(customer)
    first = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    with django_assert_num_queries(3):
        again = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 200
    # The same page, but for the CSRF token, which is masked afresh for every response.
    assert _without_csrf(again.content) == _without_csrf(first.content)
    # The cached body is HTML, not text escaped on the way out of the cache.
    assert b'<section class="card' in again.content and b"&lt;section" not in again.content


def test_an_upload_shows_on_the_next_view(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer, documents=("id_card_front",))
    client.force_login(customer)
    assert "Document received: Proof of income" not in text_of(
        client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    )
    upload(application, "income_proof", actor=customer)
    assert "Document received: Proof of income" in text_of(
        client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    )


def test_a_stage_change_shows_on_the_next_view(client, customer, dealer, reviewer, timeline_cache):
    application = in_review(customer, dealer)
    client.force_login(customer)
    client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    services.review_recommend(application=application, actor=reviewer, note="fine")
    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Credit review finished: your application went to approval" in page


def test_each_language_has_its_own_body(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    client.force_login(customer)
    english = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    chinese = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "What happened" in english or "History" in english
    assert "Pre-check passed" in english and "Pre-check passed" not in chinese


def test_another_customer_never_gets_the_cached_body(
    client, customer, other_customer, dealer, timeline_cache
):
    application = in_review(customer, dealer)
    client.force_login(customer)
    assert client.get(detail_url(application)).status_code == 200
    client.force_login(other_customer)
    assert client.get(detail_url(application)).status_code == 404


def test_the_whole_history_is_cached_apart_from_the_latest_entries(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    _grow_history(application, customer, documents=0, events=30)
    client.force_login(customer)
    latest = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    everything = text_of(client.get(detail_url(application) + "?history=all", HTTP_ACCEPT_LANGUAGE="en"))
    assert "earlier events" in latest and "earlier event" not in everything


# --- The latest events only ----------------------------------------------------------------------


def test_the_latest_events_keep_every_stage_change_and_the_true_total(customer, dealer):
    application = in_review(customer, dealer)
    _grow_history(application, customer, documents=0, events=30)
    whole = application_timeline(application=application)
    latest = application_timeline(application=application, latest_events=5)

    assert latest.events_total == whole.events_total == len(whole.events)
    transitions = [e.sequence for e in whole.events if e.kind == EventKind.TRANSITION]
    assert [e.sequence for e in latest.events if e.kind == EventKind.TRANSITION] == transitions
    newest_five = [e.sequence for e in whole.events][-5:]
    assert [e.sequence for e in latest.events][-5:] == newest_five
    assert len(latest.events) == len(set(transitions) | set(newest_five))
    # The milestones are read from the stage changes alone: the same either way.
    assert latest.milestones == whole.milestones
