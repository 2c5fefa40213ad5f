"""The benchmark's in-process part: what it needs on the seeded database, and what it measures
without a server. Run by ``bench/run.py`` as

    DJANGO_SETTINGS_MODULE=loanportal.settings.bench python -m bench.prepare OUT.json

It builds a new benchmark customer (``bench-<UTC time>``) with one file at each customer milestone
through the services (credit review, awaiting documents, offer pending, contract signing,
disbursed, and a second credit-review file with a 200-event history), signs in the customer, a
reviewer and a manager (session cookies for wrk), lists the pages wrk measures with the queries
each runs (every cache empty, then the repeat view), and times the SLA report's SQL. The answer is
one JSON document (``OUT.json``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from importlib import import_module
from typing import Any

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import OperationalError, connection, connections, transaction  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.middleware.csrf import get_token, rotate_token  # noqa: E402
from django.test import Client, RequestFactory, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.roles import Role  # noqa: E402
from applications import owners, services  # noqa: E402
from applications.choices import Employment, EventKind, PartnerStepStatus, Powertrain, Stage  # noqa: E402
from applications.models import (  # noqa: E402
    Consent,
    Dealer,
    DocumentType,
    LoanApplication,
    LoanProduct,
    PartnerStep,
    Reason,
)
from applications.prediction import duration_table_refresh  # noqa: E402
from common.pii import id_check_character  # noqa: E402

from .report_ranges import rollup_figures  # noqa: E402

SHORT, LONG = 10, 200  # history events on the two credit-review timelines
PDF = b"%PDF-1.4\n% a benchmark document\n"
APPLICANT_PHONE = "13812345678"  # the applicant's number on every benchmark file
REQUESTED_DOCUMENT = "bank_statement"  # what the reviewer asks the awaiting-documents file for
REPEAT = 3
BUDGET = float(os.environ.get("BENCH_REPEAT_BUDGET", "30"))  # seconds per figure
# A report statement running longer than this is cancelled and the row says so.
REPORT_TIMEOUT = float(os.environ.get("BENCH_REPORT_TIMEOUT", "600"))
# The cold server's cache (``BENCH_COLD=1`` in the bench settings): the in-process query counts
# with every cache empty use the same.
COLD_CACHES = {"default": {"BACKEND": "bench.cold_cache.ColdCache", "LOCATION": settings.REDIS_URL}}


def _median_seconds(
    action: Callable[[], Any], *, budget: float = BUDGET, timings: list[float] | None = None
) -> float:
    """The median wall time of ``action`` (with ``timings`` already taken): three runs, or fewer
    when the runs so far took the ``budget`` (seconds), as a slow report on a large book could
    otherwise take the whole hour."""
    timings = list(timings or [])
    while len(timings) < REPEAT and (not timings or sum(timings) < budget):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def sign_in(client: Client, user, **options: Any) -> None:
    """``client.force_login`` without django-axes: its request has no client address, which axes
    (through ``AXES_CLIENT_IP_CALLABLE``) would log as "unknown" in an inet column and fail."""
    with override_settings(AXES_ENABLED=False):
        client.force_login(user, **options)


# --- The benchmark customer and their files -----------------------------------------------------


def bench_customer():
    """A new customer for this run, as one who signed up with a mobile number and gave a name, so
    that every run measures the same files and inbox (earlier runs' customers stay in the data, a
    few files each: nothing of theirs is deleted, the history being append-only)."""
    stamp = dt.datetime.now(dt.UTC)
    user = get_user_model()(
        username=f"bench-{stamp:%Y%m%d%H%M%S}", first_name="测试", last_name="压", email=""
    )
    # A mobile number of its own (the number is unique): 139 and eight digits from the time.
    user.set_phone(f"139{int(stamp.timestamp()) % 10**8:08d}")
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=Role.CUSTOMER))
    return user


def application_in_review(customer, *, events: int) -> LoanApplication:
    """Built as a customer's application is, through the services: a draft with the applicant and
    consents, the review's documents uploaded, submitted; the pre-check runs in-process (the bench
    settings make tasks eager) and passes, and the rules assign a reviewer. The history is then
    topped up to ``events`` with document events, as the timeline's query-count test does, so the
    two credit-review timelines differ in nothing but the length of their history."""
    dealer = Dealer.objects.order_by("pk").first()
    first17 = "11010119900307123"
    application = services.application_create_draft(
        created_by=customer,
        customer=customer,
        dealer=dealer,
        product=LoanProduct.objects.get(code="standard"),
        vehicle_make="大众",
        vehicle_model="帕萨特",
        vehicle_price=Decimal("200000.00"),
        powertrain=Powertrain.FUEL,
        down_payment=Decimal("60000.00"),
        requested_amount=Decimal("140000.00"),
        term_months=36,
    )
    services.applicant_set(
        application=application,
        full_name="压测试",
        id_number=first17 + id_check_character(first17),
        phone=APPLICANT_PHONE,
        employment=Employment.EMPLOYED,
        employer="北京某科技有限公司",
        monthly_income=Decimal("25000.00"),
        monthly_debt=Decimal("2000.00"),
    )
    for kind in Consent.Kind.values:
        services.consent_record(application=application, kind=kind, user=customer)
    for document_type in DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW):
        services.document_upload(
            application=application,
            document_type=document_type,
            uploaded_file=SimpleUploadedFile(
                f"{document_type.code}.pdf", PDF, content_type="application/pdf"
            ),
            actor=customer,
        )
    application.refresh_from_db()
    services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    if application.stage != Stage.UNDER_REVIEW:
        raise RuntimeError(f"the benchmark application is at {application.stage}, not under review")
    if application.event_count > events:
        raise RuntimeError(f"{application.event_count} events before topping up; wanted {events}")
    for _ in range(events - application.event_count):
        services.application_event_add(
            application=application, kind=EventKind.DOCUMENT, data={"action": "uploaded"}
        )
    application.refresh_from_db()
    assert application.event_count == events, application.event_count
    return application


def customer_files(customer) -> dict[str, LoanApplication]:
    """One file at each milestone the customer follows, each moved on by the person whose step it
    is: the member of staff the back office assigned the file to, else the first reviewer,
    approver, operations or finance user of the seeded data."""
    reviewer = staff_user("demo_reviewer", Role.REVIEWER)
    approver = staff_user("demo_approver", Role.APPROVER)
    operations = staff_user("demo_ops", Role.OPERATIONS)
    finance = staff_user("demo_finance", Role.FINANCE)

    def holder(application: LoanApplication, otherwise):
        held_by = owners.owner_id(application.pk)
        return get_user_model().objects.get(pk=held_by) if held_by is not None else otherwise

    def reviewed() -> LoanApplication:
        return application_in_review(customer, events=SHORT)

    files = {"review": reviewed(), "long": application_in_review(customer, events=LONG)}
    asked = reviewed()
    files["documents"] = services.review_request_documents(
        application=asked,
        actor=holder(asked, reviewer),
        document_types=[DocumentType.objects.get(code=REQUESTED_DOCUMENT)],
        reason=Reason.objects.get(code="more_income_proof"),
    )

    def approved() -> LoanApplication:
        application = reviewed()
        application = services.review_recommend(application=application, actor=holder(application, reviewer))
        return services.approval_approve(
            application=application,
            actor=holder(application, approver),
            amount=Decimal("140000.00"),
            rate=Decimal("0.0588"),
            term_months=36,
        )

    def partners_answered(application: LoanApplication) -> LoanApplication:
        """The partners of the file's present stage report their steps under way, then done (as
        their callbacks do), so the stage may move on and its timeline shows them."""
        for step in PartnerStep.objects.filter(application=application, stage=application.stage):
            for status in (PartnerStepStatus.IN_PROGRESS, PartnerStepStatus.DONE):
                services.partner_step_report(step=step, status=status)
        return LoanApplication.objects.get(pk=application.pk)

    files["offer"] = approved()
    files["contract"] = services.offer_accept(application=approved(), actor=customer)
    disbursed = partners_answered(services.offer_accept(application=approved(), actor=customer))
    disbursed = services.contract_mark_signed(application=disbursed, actor=holder(disbursed, operations))
    disbursed = partners_answered(disbursed)
    disbursed = services.lien_mark_registered(application=disbursed, actor=holder(disbursed, operations))
    disbursed = partners_answered(disbursed)
    files["disbursed"] = services.disbursement_release(
        application=disbursed, actor=holder(disbursed, finance)
    )
    expected = {
        "review": Stage.UNDER_REVIEW,
        "long": Stage.UNDER_REVIEW,
        "documents": Stage.AWAITING_DOCUMENTS,
        "offer": Stage.OFFER_PENDING,
        "contract": Stage.CONTRACT_SIGNING,
        "disbursed": Stage.DISBURSED,
    }
    for name, application in files.items():
        if application.stage != expected[name]:
            raise RuntimeError(f"the {name} file is at {application.stage}, not {expected[name]}")
    return files


# --- Signing in ---------------------------------------------------------------------------------


def session_cookie(user, backend: str = "django.contrib.auth.backends.ModelBackend") -> str:
    """The cookies a browser holds after signing in, for wrk's ``Cookie`` header: the session, as
    the sign-in view leaves it (``backend``: the one that signed the user in; customers sign in
    with their mobile number), and the CSRF cookie, which signing in renews (``rotate_token``)
    and every later response leaves as it is. Without it, each response of a page with a form
    would make a new CSRF secret and set the cookie, as for a first visit."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    signing_in = RequestFactory().post("/accounts/login/")
    rotate_token(signing_in)
    return (
        f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
        f"{settings.CSRF_COOKIE_NAME}={signing_in.META['CSRF_COOKIE']}"
    )


def visitor_cookie() -> str:
    """The CSRF cookie a visitor holds after opening /track/ once.

    /track/ is measured as a visitor's GET of its form: its look-up (reference and mobile number)
    texts a one-time code, limited to a few an hour per number and address, and the result is shown
    once per code, so no load tool can replay the result page; each is timed in its own tests."""
    form_page = RequestFactory().get(reverse("applications:track"))
    get_token(form_page)
    return f"{settings.CSRF_COOKIE_NAME}={form_page.META['CSRF_COOKIE']}"


def staff_user(username: str, role: str):
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    user = users.filter(username=username).first() or users.filter(groups__name=role).order_by("pk").first()
    if user is None:
        raise RuntimeError(f"no active {role}: seed the database first")
    return user


# --- Queries of a page, counted in-process ------------------------------------------------------


def customer_pages(files: dict[str, LoanApplication]) -> dict[str, dict[str, Any]]:
    """Every page a customer waits for, as wrk asks for it: the path, who asks (``as``: a role of
    ``cookies``, or ``visitor`` for /track/; a POST of ``body`` where one is given) and what it is."""

    def timeline(name: str) -> str:
        return reverse("applications:detail", args=[files[name].reference])

    return {
        "empty": {"path": "/bench/empty/", "label": "The signed-in empty page (the site's frame)"},
        "home": {"path": reverse("applications:home"), "label": "Home page, signed in"},
        "list": {"path": reverse("applications:list"), "label": "My applications (6 files)"},
        "timeline_review": {"path": timeline("review"), "label": "Timeline, credit review (10 events)"},
        "timeline_documents": {"path": timeline("documents"), "label": "Timeline, awaiting documents"},
        "timeline_offer": {"path": timeline("offer"), "label": "Timeline, offer waiting"},
        "timeline_contract": {"path": timeline("contract"), "label": "Timeline, contract signing"},
        "timeline_disbursed": {"path": timeline("disbursed"), "label": "Timeline, disbursed"},
        "offer": {
            "path": reverse("applications:offer", args=[files["offer"].reference]),
            "label": "Offer (terms and both schedules)",
        },
        "inbox": {"path": reverse("notifications:inbox"), "label": "Inbox"},
        "documents": {
            "path": reverse(
                "applications:document_upload", args=[files["documents"].reference, REQUESTED_DOCUMENT]
            ),
            "label": "Documents: the requested document's upload page",
        },
        "track": {
            "path": reverse("applications:track"),
            "label": "/track/ form, a visitor (its look-up texts a one-time code)",
            "as": "visitor",
        },
        "timeline_long": {"path": timeline("long"), "label": "Timeline, credit review (200 events)"},
    }


def page_queries(client: Client, page: dict[str, Any]) -> tuple[int, int]:
    """(number of queries, status) of one request of ``page`` through the whole middleware stack."""
    with CaptureQueriesContext(connection) as captured:
        if page.get("body"):
            response = client.post(
                page["path"], page["body"], content_type="application/x-www-form-urlencoded"
            )
        else:
            response = client.get(page["path"])
    return len(captured.captured_queries), response.status_code


def query_counts(customer, pages: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Each page's queries with every cache empty (the cold server's cache: the session read from
    the database, the configuration loaded, the timeline's body built), then as a repeat view
    (the normal cache, after one request has filled it). The /track/ result is never cached."""
    # As beat leaves it: the delay prediction's table is in the cache, on the cold server too.
    duration_table_refresh()
    counts: dict[str, dict[str, int]] = {}
    for name, page in pages.items():
        client = Client()
        if page.get("as") != "visitor":
            sign_in(client, customer, backend="accounts.backends.PhoneOrEmailBackend")
        with override_settings(CACHES=COLD_CACHES):
            cold, status = page_queries(client, page)
        page_queries(client, page)  # fills the cache
        warm, _status = page_queries(client, page)
        if status != 200:
            raise RuntimeError(f"{page['path']} answered {status} (expected 200)")
        counts[name] = {"cold": cold, "warm": warm}
    return counts


@contextmanager
def statements_everywhere() -> Iterator[dict[str, list[tuple[str, Any]]]]:
    """Every statement run while inside, with its parameters, by the thread that ran it, on this
    connection and on any opened meanwhile (the SLA report runs part of its SQL on a second
    connection, in a thread of its own)."""
    captured: dict[str, list[tuple[str, Any]]] = defaultdict(list)

    def record(execute, sql, params, many, context):
        captured[threading.current_thread().name].append((sql, params))
        return execute(sql, params, many, context)

    def watch(sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(record)

    connection_created.connect(watch)
    try:
        with connection.execute_wrapper(record):
            yield captured
    finally:
        connection_created.disconnect(watch)


def replay(by_thread: dict[str, list[tuple[str, Any]]]) -> None:
    """The captured statements run raw, as they ran: this thread's here, each other thread's on a
    connection of its own at the same time, each list in one transaction (the report's memory
    setting lasts until its end)."""

    def run(statements: list[tuple[str, Any]]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                if cursor.description is not None:
                    cursor.fetchall()

    def beside(statements: list[tuple[str, Any]]) -> None:
        try:
            run(statements)
        finally:
            connections.close_all()

    mine = threading.current_thread().name
    others = [threading.Thread(target=beside, args=(s,)) for name, s in by_thread.items() if name != mine]
    for thread in others:
        thread.start()
    run(by_thread.get(mine, []))
    for thread in others:
        thread.join()


# --- The SLA report's SQL -----------------------------------------------------------------------


def report_figures(manager) -> dict[str, Any]:
    """The rollups (``rollup_figures``: backfilled, then every range on its first request), then
    the 90-day SLA report, four ways: the page through the whole stack (test client: session,
    middleware, view, selectors, charts, template), every SQL statement that page runs executed raw,
    ``reports.selectors.sla_report`` alone, and the raw ``GROUP BY`` of its per-stage table
    (``reports.selectors.stage_summary_sql``). A figure the reports app cannot give is left out."""
    try:
        selectors = import_module("reports.selectors")
        url = reverse("reports:sla")
    except Exception as exc:  # any reason the reports app is not there
        return {"available": False, "why": f"{type(exc).__name__}: {exc}"}
    date_range = selectors.default_range(days=90)
    figures: dict[str, Any] = {
        "available": True,
        "url": url,
        "range": [str(date_range.start), str(date_range.end)],
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(int(REPORT_TIMEOUT * 1000))])
    try:
        # First: the rollups the report reads its stays from, then any range on its first request.
        client = Client()
        sign_in(client, manager)
        figures["rollups"] = rollup_figures(client, selectors)
    except OperationalError as exc:  # statement_timeout
        figures["rollups"] = {"why": f"a statement ran over {REPORT_TIMEOUT:.0f} s ({exc})"}
    # The page computes its figures on every view here (REPORT_CACHE_SECONDS=0): the comparison is
    # with the SQL it runs. The cached page is timed after, as beat leaves it.
    uncached = override_settings(REPORT_CACHE_SECONDS=0)
    try:
        client = Client()
        sign_in(client, manager)
        # The first request is timed too, and its statements captured, on every connection.
        with uncached, statements_everywhere() as by_thread:
            started = time.perf_counter()
            status = client.get(url).status_code
            first = time.perf_counter() - started
        if status != 200:
            return {"available": False, "why": f"the report page answered {status}"}
        figures["page_queries"] = sum(len(statements) for statements in by_thread.values())
        figures["page_connections"] = len(by_thread)
        with uncached:
            figures["page_seconds"] = _median_seconds(lambda: client.get(url), timings=[first])

        # Only the reads: a session save or a last-login update would not be the report's.
        reads = {
            name: [
                (sql, params)
                for sql, params in statements
                if sql.lstrip().upper().startswith(("SELECT", "WITH"))
            ]
            for name, statements in by_thread.items()
        }
        figures["page_sql_statements"] = sum(len(statements) for statements in reads.values())
        figures["group_by_statements"] = sum(
            "GROUP BY" in sql.upper() for s in reads.values() for sql, _p in s
        )
        figures["page_sql_seconds"] = _median_seconds(lambda: replay(reads))
        if hasattr(selectors, "sla_report"):
            figures["selector_seconds"] = _median_seconds(
                lambda: selectors.sla_report(date_range.start, date_range.end)
            )
        if hasattr(selectors, "stage_summary_sql"):
            sql, params = selectors.stage_summary_sql(date_range)

            def run_summary() -> None:
                # With the memory the report's statements get, so that only the SQL differs.
                memory = getattr(selectors, "report_memory", transaction.atomic)
                with memory(), connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    cursor.fetchall()

            figures["stage_summary_seconds"] = _median_seconds(run_summary)
        if hasattr(selectors, "report_refresh"):
            # What beat does every REPORT_REFRESH_SECONDS (both languages), then the page as a
            # manager finds it.
            with override_settings(REPORT_CACHE_SECONDS=900):
                started = time.perf_counter()
                selectors.report_refresh()
                figures["refresh_seconds"] = time.perf_counter() - started
                figures["cached_page_seconds"] = _median_seconds(lambda: client.get(url))
    except OperationalError as exc:  # statement_timeout: too slow to measure in this run
        figures.update(available=False, why=f"a statement ran over {REPORT_TIMEOUT:.0f} s ({exc})")
    return figures


def main(out: str) -> None:
    customer = bench_customer()
    started = time.perf_counter()
    files = customer_files(customer)
    built = time.perf_counter() - started
    reviewer = staff_user("demo_reviewer", Role.REVIEWER)
    manager = staff_user("demo_manager", Role.MANAGER)
    pages = customer_pages(files)
    track_cookie = visitor_cookie()
    counts = query_counts(customer, pages)
    for name, page in pages.items():
        page["queries"] = counts[name]
    answer = {
        "built_seconds": built,
        "customer": customer.get_username(),
        "pages": pages,
        "cookies": {
            "customer": session_cookie(customer, backend="accounts.backends.PhoneOrEmailBackend"),
            "visitor": track_cookie,
            "reviewer": session_cookie(reviewer),
            "manager": session_cookie(manager),
        },
        "users": {"reviewer": reviewer.get_username(), "manager": manager.get_username()},
        "queue_url": reverse("admin:applications_loanapplication_changelist"),
        "timeline_cache_seconds": settings.TIMELINE_CACHE_SECONDS,
        "report": report_figures(manager),
        "counts": {
            "applications": LoanApplication.objects.count(),
            "events": LoanApplication.objects.aggregate(n=Sum("event_count"))["n"] or 0,
        },
    }
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(answer, handle, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
