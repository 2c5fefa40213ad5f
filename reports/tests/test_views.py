"""The report page: who may see it, what it costs, what it shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse

from applications.choices import Stage
from applications.tests.factories import DealerFactory
from reports import selectors

from .builders import Step, file_with_history

pytestmark = pytest.mark.django_db

URL = reverse("reports:sla")
# One statement gives the report's sorts their memory (selectors.report_memory).
MEMORY = 1


# --- Access -------------------------------------------------------------------------------------


def test_a_manager_sees_the_report(client, manager):
    client.force_login(manager)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.context["report"] is not None


def test_a_superuser_sees_the_report(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("root", "root@example.cn", "x-Long-pass-42")
    )

    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("role", ["customer", "dealer", "reviewer", "approver", "operations", "finance"])
def test_everyone_else_is_refused_the_page_and_its_files(client, cast, role):
    client.force_login(cast[role])

    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv", "table": "stages"}).status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert client.get(URL, {"format": "csv", "table": "stages"}).status_code == 302


def test_the_report_is_read_only(client, manager):
    client.force_login(manager)

    assert client.post(URL).status_code == 405


def test_the_navbar_links_the_report_for_managers_only(client, cast):
    home = reverse("applications:home")
    for role in ("customer", "reviewer", "manager"):
        client.force_login(cast[role])
        shown = URL in client.get(home).content.decode()
        assert shown is (role == "manager"), role


# --- Cost ---------------------------------------------------------------------------------------


def _book(customer, count: int) -> None:
    """``count`` files with a full path through review and approval, ended in November 2026."""
    dealer = DealerFactory()
    start = dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC)
    for n in range(count):
        t = start + dt.timedelta(hours=n)
        steps = [
            Step(Stage.SUBMITTED, t, actor=customer),
            Step(Stage.CREDIT_CHECK, t),
            Step(Stage.UNDER_REVIEW, t + dt.timedelta(minutes=5), due=t + dt.timedelta(hours=24)),
            Step(Stage.APPROVAL, t + dt.timedelta(hours=3 + n % 5)),
            Step(Stage.OFFER_PENDING if n % 3 else Stage.REJECTED, t + dt.timedelta(hours=9)),
        ]
        file_with_history(customer=customer, dealer=dealer, steps=steps)


@pytest.mark.parametrize("files", [2, 12])
def test_the_report_costs_nine_queries_whatever_the_size_of_the_book(
    customer, files, django_assert_num_queries
):
    _book(customer, files)

    # The stays in every grouping, the backlog, the funnel, the approval factors, the breaches by
    # cause of delay, the first response to questions; and before the stays and the breaches, the
    # stays' rollups' mark (how far they go), before the funnel and the factors the cohorts'.
    with django_assert_num_queries(9 + MEMORY):
        report = selectors.sla_report(dt.date(2026, 11, 1), dt.date(2026, 11, 30))

    assert report.funnel.submitted == files


@pytest.mark.parametrize("files", [2, 12])
def test_the_page_costs_the_same_queries_for_a_small_and_a_larger_book(
    client, manager, customer, files, django_assert_num_queries
):
    _book(customer, files)
    client.force_login(manager)

    # The user, the manager check (the navbar reuses it), the report's nine, the navbar's unread
    # count; the session comes from the cache.
    with django_assert_num_queries(12 + MEMORY):
        response = client.get(URL, {"start": "2026-11-01", "end": "2026-11-30"})

    assert response.status_code == 200
    assert response.context["report"].funnel.submitted == files


def test_a_csv_file_costs_its_one_table_query(client, manager, customer, django_assert_num_queries):
    _book(customer, 3)
    client.force_login(manager)

    # The user, the manager check, the rollups' mark and the table's query (the session comes from
    # the cache).
    with django_assert_num_queries(4 + MEMORY):
        response = client.get(
            URL, {"start": "2026-11-01", "end": "2026-11-30", "format": "csv", "table": "dealers"}
        )

    assert response.status_code == 200


# --- What it shows ------------------------------------------------------------------------------


def test_the_page_shows_every_section_with_a_chart_and_its_table(client, manager, customer):
    _book(customer, 4)
    client.force_login(manager)

    page = client.get(
        URL, {"start": "2026-11-01", "end": "2026-11-30"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    for section in ("stages", "weekly", "breakdowns", "backlog", "funnel", "factors"):
        assert f'id="{section}"' in page
    # Three charts, each an image with a title and a description, and no script anywhere.
    assert page.count('role="img"') == 3
    assert page.count("<title id=") == 3 and page.count("<desc id=") == 3
    assert "<script" not in page.split("</main>")[0]
    assert "Under review" in page and "Median" in page
    assert "table=stages" in page and "table=factors" in page


def test_the_page_reads_in_chinese_by_default(client, manager, customer):
    _book(customer, 2)
    client.force_login(manager)

    page = client.get(URL).content.decode()

    assert "人工审核中" in page  # the review stage's Chinese name


# --- Kept in the cache ------------------------------------------------------------------------------


@pytest.fixture
def report_cache(settings):
    settings.REPORT_CACHE_SECONDS = 900
    cache.clear()
    yield
    cache.clear()


def test_the_figures_are_kept_per_range_and_say_when_they_were_computed(
    client, manager, customer, report_cache, django_assert_num_queries
):
    _book(customer, 2)
    client.force_login(manager)
    november = {"start": "2026-11-01", "end": "2026-11-30"}
    first = client.get(URL, november, HTTP_ACCEPT_LANGUAGE="en")
    computed = first.context["report"].now
    assert "Figures as of" in first.content.decode()

    # The same range again: the user, the manager check and the unread count, no report query.
    with django_assert_num_queries(3):
        again = client.get(URL, november, HTTP_ACCEPT_LANGUAGE="en")
    assert again.context["report"].now == computed
    assert again.context["report"].funnel.submitted == 2

    # Another range is its own (the report's nine queries).
    with django_assert_num_queries(12 + MEMORY):
        client.get(URL, {"start": "2026-11-02", "end": "2026-11-30"}, HTTP_ACCEPT_LANGUAGE="en")


def test_beat_computes_the_default_range_in_every_language_ahead_of_the_manager(
    client, manager, customer, report_cache, django_assert_num_queries
):
    from reports.tasks import report_refresh

    _book(customer, 2)
    assert report_refresh.delay().get() == 2  # zh-hans and en
    client.force_login(manager)
    for language in ("zh-hans", "en"):
        # The default range (the last 90 days), no report query.
        with django_assert_num_queries(3):
            response = client.get(URL, HTTP_ACCEPT_LANGUAGE=language)
        assert response.context["report"] is not None


def test_a_csv_file_of_kept_figures_costs_no_report_query(
    client, manager, customer, report_cache, django_assert_num_queries
):
    _book(customer, 3)
    client.force_login(manager)
    november = {"start": "2026-11-01", "end": "2026-11-30"}
    client.get(URL, november)  # computed (by the worker, in-process here) and kept
    # The user and the manager check only.
    with django_assert_num_queries(2):
        response = client.get(URL, {**november, "format": "csv", "table": "funnel"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_a_range_not_kept_is_computed_in_the_request_without_waiting(
    client, manager, customer, report_cache, monkeypatch
):
    """The stays come from the daily rollups: the page computes any range itself, at once, and
    keeps it; it never sleeps waiting on a worker."""
    import time

    def no_sleep(seconds):
        raise AssertionError(f"the page slept {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    _book(customer, 2)
    client.force_login(manager)
    november = {"start": "2026-11-01", "end": "2026-11-30"}
    response = client.get(URL, november, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["report"].funnel.submitted == 2
    assert 'http-equiv="refresh"' not in page
    csv = client.get(URL, {**november, "format": "csv", "table": "stages"}, HTTP_ACCEPT_LANGUAGE="en")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
