"""The back office view of the core: masked personal data, a read-only history, deliberate queries.

The application admin itself lives in reviews/admin/ (the work queue); reviews/tests/ covers it in
depth. These keep the core's promises about it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from applications import services
from applications.models import BlacklistEntry, StageEvent
from common.pii import keyed_hash

from .factories import make_draft, valid_id_number


def _applications(customer, dealer, count):
    for _ in range(count):
        services.application_submit(application=make_draft(customer=customer, dealer=dealer), actor=customer)


def _in_review(application):
    return services.precheck_pass(application=services.precheck_start(application=application))


@pytest.mark.parametrize("rows", [3, 12])
def test_changelist_queries_do_not_grow_with_rows(
    client, manager, customer, dealer, rows, django_assert_num_queries
):
    _applications(customer, dealer, rows)
    client.force_login(manager)  # managers see every stage, submitted ones included
    url = reverse("admin:applications_loanapplication_changelist")
    cache.clear()  # the delay prediction's figures, counted here
    # 1 session (from the database: the cache was emptied), 2 user, 3 the user's roles, 4-5 the
    # user's own and group permissions, 6 dealer filter choices, 7 product filter choices,
    # 8 assignee filter choices, 9-11 the delay prediction's figures (not cached yet: the stays,
    # and the working calendar's hours and days they are measured on), 12 COUNT(*), 13 the page of
    # applications joined to dealer, product and applicant, with "likely to breach" computed in
    # it, 14 the page's open assignments with their assignees, 15-17 the configuration the
    # cause-of-delay filter lists its reasons from (``applications.reference``) — the same
    # seventeen whatever the number of rows; ten once the session, the figures and the
    # configuration are cached.
    with django_assert_num_queries(17):
        response = client.get(url)
    assert response.status_code == 200
    with django_assert_num_queries(10):
        client.get(url)
    if rows == 12:
        assert response.content.count(b"field-display_reference") == 12


def test_application_page_masks_personal_data_and_shows_history(client, reviewer, draft, customer):
    _in_review(services.application_submit(application=draft, actor=customer))
    client.force_login(reviewer)
    response = client.get(reverse("admin:applications_loanapplication_change", args=[draft.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert draft.applicant.id_number not in content
    assert draft.applicant.masked_id_number in content
    assert "138****5678" in content and "13812345678" not in content
    assert "submit" in content  # the history inline


def test_history_cannot_be_edited_or_deleted_in_admin(admin_client, draft):
    event = StageEvent.objects.filter(application=draft).first()
    change = admin_client.post(
        reverse("admin:applications_stageevent_change", args=[event.pk]), {"note": "rewritten"}
    )
    delete = admin_client.post(
        reverse("admin:applications_stageevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert change.status_code == 403
    assert delete.status_code == 403
    event.refresh_from_db()
    assert event.note == ""


def test_customer_cannot_reach_the_back_office(client, customer):
    client.force_login(customer)
    response = client.get(reverse("admin:applications_loanapplication_changelist"))
    assert response.status_code == 302  # to the admin login


def test_blacklist_entry_stores_only_the_keyed_hash(admin_client):
    number = valid_id_number(serial="777")
    response = admin_client.post(
        reverse("admin:applications_blacklistentry_add"), {"id_number": number, "note": "known fraud"}
    )
    assert response.status_code == 302
    entry = BlacklistEntry.objects.get()
    assert entry.id_number_hash == keyed_hash(number)


def test_blacklist_refuses_an_invalid_id_number(admin_client):
    response = admin_client.post(
        reverse("admin:applications_blacklistentry_add"),
        {"id_number": "110105194912310021", "note": "x"},
        headers={"accept-language": "en"},
    )
    assert response.status_code == 200
    assert "check digit" in response.content.decode()
    assert not BlacklistEntry.objects.exists()


def test_make_draft_helper_builds_distinct_references(customer, dealer):
    first, second = make_draft(customer=customer, dealer=dealer), make_draft(customer=customer, dealer=dealer)
    assert first.reference != second.reference
