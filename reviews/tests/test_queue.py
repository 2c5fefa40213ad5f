"""The work queue: role-scoped, filtered, searched by the keyed hash, soonest due first, and a
constant number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from applications import services as core
from applications.choices import Stage
from applications.models import LoanApplication
from applications.tests.factories import record_stays
from reviews import services

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:applications_loanapplication_changelist")
SEARCH = reverse("admin:applications_loanapplication_search")  # the box posts (reviews/search.py)


def rows(response) -> list[str]:
    """The references on the page, in order."""
    return re.findall(
        r'class="field-display_reference"><a href="[^"]+">([A-Z0-9-]+)</a>', response.content.decode()
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the delay prediction's figures live there
    yield
    cache.clear()


def row_of(page: str, application: LoanApplication) -> str:
    """The queue row (its HTML) of one application."""
    for row in re.findall(r"<tr\b.*?</tr>", page, flags=re.S):
        if f">{application.display_reference}</a>" in row:
            return row
    raise AssertionError(f"{application.display_reference} is not on the page")


@pytest.mark.parametrize("count", [25, 50])  # 50: a full page (``list_per_page``)
def test_queue_queries_do_not_grow_with_rows(client, pipeline, reviewer, count, django_assert_num_queries):
    for _ in range(count):
        pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)
    cache.clear()
    # 1 session (from the database: the cache was emptied), 2 user, 3 the user's roles (groups),
    # 4-5 the user's own and group permissions, 6 dealer filter choices, 7 product filter choices,
    # 8 assignee filter choices, 9-11 the delay prediction's figures for every stage and product
    # (not cached yet: the stays, and the working calendar's hours and days they are measured
    # on), 12 COUNT(*), 13 the page: applications joined to dealer, product and applicant, with
    # "likely to breach" computed in it, 14 the page's open assignments with their assignees,
    # 15-17 the configuration the cause-of-delay filter lists its reasons from (stages, document
    # types, reasons: ``applications.reference``) — the same seventeen whatever the number of
    # rows, and ten once the session, the figures and the configuration are cached.
    with django_assert_num_queries(17):
        response = client.get(QUEUE)
    assert response.status_code == 200
    assert len(rows(response)) == count
    with django_assert_num_queries(10):
        client.get(QUEUE)


def test_the_likely_to_breach_filter_reads_the_figures_once(
    client, pipeline, reviewer, customer, dealer, django_assert_num_queries
):
    late = pipeline.new(Stage.UNDER_REVIEW)
    slow = [dt.timedelta(days=30)] * 20  # recent reviews that took a month: late will be late
    record_stays(
        customer=customer, dealer=dealer, stage=Stage.UNDER_REVIEW, durations=slow, left_at=late.created_at
    )
    client.force_login(reviewer)
    cache.clear()
    # The same seventeen as the unfiltered page: the filter and the column share the figures'
    # three queries (the second asks the cache).
    with django_assert_num_queries(17):
        response = client.get(QUEUE, {"sla": "likely"})
    assert rows(response) == [late.display_reference]


def test_each_role_sees_only_the_stages_it_works_and_managers_see_all(client, pipeline, cast):
    in_review = pipeline.new(Stage.UNDER_REVIEW)
    in_approval = pipeline.new(Stage.APPROVAL)
    in_contract = pipeline.new(Stage.CONTRACT_SIGNING)
    in_disbursement = pipeline.new(Stage.DISBURSEMENT)
    expected = {
        "reviewer": {in_review},
        "approver": {in_approval},
        "operations": {in_contract},
        "finance": {in_disbursement},
        "manager": {in_review, in_approval, in_contract, in_disbursement},
    }
    for role, applications in expected.items():
        client.force_login(cast[role])
        seen = set(rows(client.get(QUEUE)))
        assert seen == {a.display_reference for a in applications}, role
        hidden = {in_review, in_approval, in_contract, in_disbursement} - applications
        for application in hidden:  # and the page itself is not theirs either
            page = client.get(reverse("admin:applications_loanapplication_change", args=[application.pk]))
            assert page.status_code == 404, role  # as for a file that does not exist


def test_customers_and_dealers_cannot_open_the_queue(client, customer, dealer_user):
    for user in (customer, dealer_user):
        client.force_login(user)
        response = client.get(QUEUE)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_assigned_to_me_and_unassigned_in_my_stages(client, pipeline, reviewer, make_user):
    other = make_user("reviewer_two", Role.REVIEWER)
    mine = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    theirs = pipeline.new(Stage.UNDER_REVIEW)  # to `other`, less loaded
    from reviews.models import AssignmentRule

    AssignmentRule.objects.update(is_active=False)
    nobodys = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    assert rows(client.get(QUEUE, {"queue": "mine"})) == [mine.display_reference]
    assert rows(client.get(QUEUE, {"queue": "unassigned"})) == [nobodys.display_reference]
    assert rows(client.get(QUEUE, {"assignee": other.pk})) == [theirs.display_reference]
    assert rows(client.get(QUEUE, {"assignee": "none"})) == [nobodys.display_reference]


def test_sla_filters_and_column_follow_each_rows_own_window(client, pipeline, reviewer):
    # Due times run on the working calendar, so each file's window (entry to due) is read back,
    # not assumed: `late` is looked at 90 % of the way through its own window.
    with time_machine.travel(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC), tick=False):
        late = pipeline.new(Stage.UNDER_REVIEW)
    now = late.stage_entered_at + (late.stage_due_at - late.stage_entered_at) * 0.9
    with time_machine.travel(now - dt.timedelta(days=30), tick=False):
        overdue = pipeline.new(Stage.UNDER_REVIEW)
    with time_machine.travel(now - dt.timedelta(minutes=1), tick=False):
        fresh = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    with time_machine.travel(now, tick=False):
        assert rows(client.get(QUEUE, {"sla": "on_time"})) == [fresh.display_reference]
        assert rows(client.get(QUEUE, {"sla": "at_risk"})) == [late.display_reference]
        assert rows(client.get(QUEUE, {"sla": "breached"})) == [overdue.display_reference]
        page = client.get(QUEUE).content.decode()

    assert rows(client.get(QUEUE))[0] == overdue.display_reference  # soonest due first
    assert 'class="lp-sla lp-sla-breached"' in page
    assert 'class="lp-sla lp-sla-at_risk"' in page
    assert 'class="lp-sla lp-sla-on_time"' in page
    assert "overdue by" in page and "left" in page


def test_files_predicted_to_finish_after_their_due_time_are_likely_to_breach(
    client, pipeline, reviewer, customer, dealer
):
    # Review is given 24 working hours, and recent reviews are measured on the same working
    # calendar: "entry + p80 > due" is "the p80 is longer than 24 working hours".
    monday = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    with time_machine.travel(monday, tick=False):
        tight = pipeline.new(Stage.UNDER_REVIEW)  # the standard product: its reviews run long
        roomy = pipeline.new(Stage.UNDER_REVIEW, product_code="green_nev")  # its reviews are quick
    with time_machine.travel(monday - dt.timedelta(days=28), tick=False):
        overdue = pipeline.new(Stage.UNDER_REVIEW)  # as slow a product, but long past its due time
    in_approval = pipeline.new(Stage.APPROVAL)  # no history for approval: the SLA, no marker
    shanghai = dt.timezone(dt.timedelta(hours=8))
    entered = dt.datetime(2026, 1, 19, 9, tzinfo=shanghai)  # a Monday of an ordinary week
    # Standard: to Thursday 12:00, 9 + 9 + 9 + 3 = 30 working hours. Green: to Tuesday 11:00, 11.
    for product_code, left in (
        ("standard", dt.datetime(2026, 1, 22, 12, tzinfo=shanghai)),
        ("green_nev", dt.datetime(2026, 1, 20, 11, tzinfo=shanghai)),
    ):
        record_stays(
            customer=customer,
            dealer=dealer,
            stage=Stage.UNDER_REVIEW,
            durations=[left - entered] * 20,
            left_at=left,
            product_code=product_code,
        )
    client.force_login(reviewer)

    with time_machine.travel(monday + dt.timedelta(hours=1), tick=False):
        page = client.get(QUEUE).content.decode()
        likely = rows(client.get(QUEUE, {"sla": "likely"}))

    assert "Likely to breach" in row_of(page, tight)
    assert 'class="lp-likely"' in row_of(page, tight)
    assert "lp-likely" not in row_of(page, roomy)
    assert "lp-likely" not in row_of(page, overdue)  # breached already says it
    assert likely == [tight.display_reference]
    client.force_login(pipeline.approver)
    with time_machine.travel(monday + dt.timedelta(hours=1), tick=False):
        assert "lp-likely" not in row_of(client.get(QUEUE).content.decode(), in_approval)


def test_queue_is_ordered_soonest_due_first(client, pipeline, reviewer):
    base = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    made = []
    for days_ago in (1, 9, 4):
        with time_machine.travel(base - dt.timedelta(days=days_ago), tick=False):
            made.append(pipeline.new(Stage.UNDER_REVIEW))
    client.force_login(reviewer)

    expected = [a.display_reference for a in sorted(made, key=lambda a: a.stage_due_at)]
    assert rows(client.get(QUEUE)) == expected


def test_filter_by_stage_dealer_and_product(client, pipeline, manager, make_user):
    from applications.tests.factories import DealerFactory

    in_review = pipeline.new(Stage.UNDER_REVIEW)
    in_approval = pipeline.new(Stage.APPROVAL)
    pipeline.dealer = DealerFactory()
    elsewhere = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(manager)

    assert rows(client.get(QUEUE, {"stage": Stage.APPROVAL})) == [in_approval.display_reference]
    assert set(rows(client.get(QUEUE, {"dealer__id__exact": elsewhere.dealer_id}))) == {
        elsewhere.display_reference
    }
    assert set(rows(client.get(QUEUE, {"product__id__exact": in_review.product_id}))) == {
        in_review.display_reference,
        in_approval.display_reference,
        elsewhere.display_reference,
    }


def test_search_by_reference_with_or_without_dash(client, pipeline, reviewer):
    wanted = pipeline.new(Stage.UNDER_REVIEW)
    pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    assert rows(client.get(QUEUE, {"q": wanted.display_reference.lower()})) == [wanted.display_reference]
    assert rows(client.get(QUEUE, {"q": wanted.reference})) == [wanted.display_reference]


def test_search_by_exact_phone_goes_through_the_keyed_hash(client, pipeline, reviewer):
    wanted = pipeline.new(Stage.UNDER_REVIEW, phone="13900001111")
    pipeline.new(Stage.UNDER_REVIEW, phone="13900002222")
    client.force_login(reviewer)

    with CaptureQueriesContext(connection) as queries:
        response = client.post(SEARCH, {"q": "139 0000 1111"}, follow=True)

    assert rows(response) == [wanted.display_reference]
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "phone_hash" in sql and "13900001111" not in sql
    # not a whole number: no partial match
    assert rows(client.post(SEARCH, {"q": "1390000111"}, follow=True)) == []


def test_queue_rows_show_masked_applicants_and_no_full_numbers(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    page = client.get(QUEUE).content.decode()

    assert "张* · 138****5678" in page
    assert "13812345678" not in page and application.applicant.id_number not in page
    assert "¥140,000.00" in page


def test_queue_links_at_the_top(client, reviewer):
    client.force_login(reviewer)

    page = client.get(QUEUE, {"queue": "mine"}).content.decode()

    for href in (
        'href="?queue=mine"',
        'href="?queue=unassigned"',
        'href="?sla=at_risk"',
        'href="?sla=breached"',
        'href="?sla=likely"',
    ):
        assert href in page
    assert 'href="?queue=mine" class="lp-active"' in page


def test_claim_selected_from_the_queue(client, pipeline, reviewer):
    from reviews.models import AssignmentRule

    AssignmentRule.objects.update(is_active=False)
    first, second = pipeline.new(Stage.UNDER_REVIEW), pipeline.new(Stage.UNDER_REVIEW)
    AssignmentRule.objects.update(is_active=True)
    client.force_login(reviewer)

    response = client.post(
        QUEUE, {"action": "claim_selected", "_selected_action": [first.pk, second.pk]}, follow=True
    )

    assert response.status_code == 200
    for application in (first, second):
        assert services.open_assignment(application=application).assignee == reviewer


def test_a_manager_reassigns_selected_files_through_an_intermediate_page(
    client, pipeline, manager, make_user
):
    other = make_user("reviewer_two", Role.REVIEWER)
    first, second = pipeline.new(Stage.UNDER_REVIEW), pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(manager)
    selected = {"action": "reassign_selected", "_selected_action": [first.pk, second.pk]}

    ask = client.post(QUEUE, selected)
    assert ask.status_code == 200 and b'name="assignee"' in ask.content

    client.post(QUEUE, {**selected, "apply": "1", "assignee": other.pk})
    for application in (first, second):
        assert services.open_assignment(application=application).assignee == other


def test_reviewers_do_not_get_the_reassign_action(client, reviewer):
    client.force_login(reviewer)

    page = client.get(QUEUE).content.decode()

    assert 'value="claim_selected"' in page
    assert 'value="reassign_selected"' not in page


def test_closed_files_sort_after_open_ones_for_managers(client, pipeline, manager, reviewer):
    closed = core.review_reject(
        application=pipeline.new(Stage.UNDER_REVIEW),
        actor=reviewer,
        reason=__import__("applications.models", fromlist=["Reason"]).Reason.objects.get(
            code="credit_history"
        ),
    )
    open_file = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(manager)

    assert rows(client.get(QUEUE))[:2] == [open_file.display_reference, closed.display_reference]
    assert LoanApplication.objects.get(pk=closed.pk).stage_due_at is None


# --- A queue longer than the count goes -----------------------------------------------------------


def test_a_queue_past_the_counting_cap_says_more_than_and_offers_no_select_all(
    client, pipeline, reviewer, monkeypatch
):
    from reviews.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    monkeypatch.setattr("reviews.admin.LoanApplicationAdmin.list_per_page", 2)
    for _ in range(5):
        pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    response = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.context["cl"].paginator.count == 4  # counted to the cap and one more, no further
    assert "More than 3 applications: narrow the list with the filters." in page
    assert "4 results" not in page  # the capped count is never printed as a total
    assert "Select all 4" not in page and "Click here to select the objects across all pages" not in page
    assert len(rows(response)) == 2
    # The pages up to the cap still work: the second holds the next two, soonest due first.
    assert len(rows(client.get(QUEUE, {"p": 2}))) == 2


def test_a_queue_within_the_cap_shows_its_exact_count(client, pipeline, reviewer, monkeypatch):
    monkeypatch.setattr("reviews.admin.LoanApplicationAdmin.list_per_page", 2)
    for _ in range(3):
        pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3 loan applications" in page or "3 applications" in page
    assert "More than" not in page
    assert "Select all 3" in page  # across pages: the total is known
