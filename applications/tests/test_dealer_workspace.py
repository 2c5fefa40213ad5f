"""The dealer workspace: a dealership's staff see its files (and nothing of another dealership's),
start a file for a walk-in buyer, follow it masked and read-only, upload the documents they hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.roles import Role
from applications import services
from applications.choices import Stage
from applications.models import Document, LoanApplication
from applications.tests.factories import (
    BUYER_PHONE,
    PDF,
    DealerFactory,
    at_offer,
    in_review,
    loan_data,
    start_walk_in,
    text_of,
)
from common import sms

pytestmark = pytest.mark.django_db

WORKSPACE = reverse("applications:dealer_workspace")
NEW = reverse("applications:dealer_walk_in")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def other_dealer_user(make_user):
    user = make_user("other_dealer_staff", Role.DEALER)
    DealerFactory(name="Other Motors").staff.add(user)
    return user


@pytest.fixture
def personas(dealer_user, other_dealer_user, customer):
    return {"own": dealer_user, "other": other_dealer_user, "customer": customer, "anonymous": None}


def as_persona(client, personas, persona):
    if personas[persona] is not None:
        client.force_login(personas[persona])
    return client


def detail(application) -> str:
    return reverse("applications:dealer_detail", args=[application.reference])


def upload_url(application, code="vehicle_invoice") -> str:
    return reverse("applications:dealer_document_upload", args=[application.reference, code])


def walk_in_post(dealer, **changes) -> dict:
    return {
        "dealer": dealer.pk,
        "buyer_name": "李娜",
        "buyer_phone": "139 1234 5678",
        "vehicle_make": "大众",
        "vehicle_model": "帕萨特",
        "vehicle_price": "200000",
        "powertrain": "fuel",
        **loan_data(),
        **changes,
    }


# --- Who may open what ------------------------------------------------------------------------------

EXPECTED = {"own": 200, "other": 404, "customer": 403, "anonymous": 302}


@pytest.mark.parametrize("persona", EXPECTED)
def test_a_file_opens_for_its_own_dealership_only(client, personas, persona, dealer, customer):
    application = in_review(customer, dealer)

    response = as_persona(client, personas, persona).get(detail(application))

    assert response.status_code == EXPECTED[persona]
    if persona == "anonymous":
        assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("persona", EXPECTED)
def test_the_list_shows_own_dealerships_files_only(client, personas, persona, dealer, customer):
    application = in_review(customer, dealer)

    response = as_persona(client, personas, persona).get(WORKSPACE)

    assert response.status_code == {"own": 200, "other": 200, "customer": 403, "anonymous": 302}[persona]
    if response.status_code == 200:
        shown = application.reference in response.content.decode()
        assert shown == (persona == "own")


@pytest.mark.parametrize("persona", EXPECTED)
def test_only_the_dealerships_staff_upload_its_documents(client, personas, persona, dealer, customer):
    application = in_review(customer, dealer)

    response = as_persona(client, personas, persona).post(
        upload_url(application),
        {"file": SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf")},
    )

    assert response.status_code == {"own": 302, "other": 404, "customer": 403, "anonymous": 302}[persona]
    assert Document.objects.filter(document_type__code="vehicle_invoice").exists() == (persona == "own")


@pytest.mark.parametrize("persona", EXPECTED)
def test_only_a_dealer_starts_a_walk_in_file(client, personas, persona, dealer):
    response = as_persona(client, personas, persona).post(NEW, walk_in_post(dealer))

    assert LoanApplication.objects.exists() == (persona == "own")
    if persona == "other":
        assert response.status_code == 200 and response.context["form"].errors["dealer"]
    elif persona != "own":
        assert response.status_code == EXPECTED[persona]


def test_a_dealer_serving_two_dealerships_sees_both(client, dealer_user, dealer, customer, other_customer):
    second = DealerFactory(name="Second Motors")
    second.staff.add(dealer_user)
    first_file, second_file = in_review(customer, dealer), in_review(other_customer, second)
    client.force_login(dealer_user)

    page = client.get(WORKSPACE).content.decode()
    filtered = client.get(WORKSPACE, {"dealer": second.pk}).content.decode()

    assert first_file.reference in page and second_file.reference in page
    assert second_file.reference in filtered and first_file.reference not in filtered


# --- Starting a walk-in file ------------------------------------------------------------------------


def test_the_dealer_starts_a_file_and_the_buyer_is_texted(
    client, dealer_user, dealer, django_capture_on_commit_callbacks
):
    client.force_login(dealer_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(NEW, walk_in_post(dealer))

    application = LoanApplication.objects.get()
    assert response.url == detail(application)
    assert [sent.phone for sent in sms.outbox] == [BUYER_PHONE]
    page = text_of(client.get(response.url))
    assert "139****5678" in page and "李*" in page
    assert BUYER_PHONE not in page and "李娜" not in page


def test_a_loan_that_does_not_fit_is_shown_next_to_its_field(client, dealer_user, dealer):
    client.force_login(dealer_user)

    response = client.post(NEW, walk_in_post(dealer, down_payment="1000"))

    assert response.status_code == 200
    assert response.context["form"].errors["down_payment"]
    assert not LoanApplication.objects.exists()


def test_the_dealer_texts_a_new_link(client, dealer_user, dealer, django_capture_on_commit_callbacks):
    application = start_walk_in(dealer, dealer_user)
    client.force_login(dealer_user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("applications:dealer_link_resend", args=[application.reference]))

    assert len(sms.outbox) == 1 and "/claim/" in sms.outbox[0].message.text


# --- What the dealer sees ---------------------------------------------------------------------------


def test_personal_data_is_masked(client, dealer_user, dealer, customer):
    application = in_review(customer, dealer)
    client.force_login(dealer_user)

    for page in (text_of(client.get(WORKSPACE)), text_of(client.get(detail(application)))):
        assert "张*" in page
        assert "张伟" not in page and "13812345678" not in page and "110101" not in page


def test_the_offer_is_read_only_for_the_dealer(client, dealer_user, dealer, customer, reviewer, approver):
    offered = at_offer(customer, dealer, reviewer, approver)
    client.force_login(dealer_user)

    page = client.get(detail(offered))

    assert "dealer-offer" in page.content.decode()
    assert reverse("applications:offer", args=[offered.reference]) not in page.content.decode()
    assert client.get(reverse("applications:offer", args=[offered.reference])).status_code in (403, 404)


def test_the_dealer_sees_the_funding_status_after_payout(
    client, dealer_user, dealer, customer, reviewer, approver, operations, finance
):
    application = services.offer_accept(
        application=at_offer(customer, dealer, reviewer, approver), actor=customer
    )
    application = services.contract_mark_signed(application=application, actor=operations)
    application = services.lien_mark_registered(application=application, actor=operations)
    application = services.disbursement_release(application=application, actor=finance)
    client.force_login(dealer_user)

    row = client.get(WORKSPACE)
    page = client.get(detail(application))

    assert application.stage == Stage.DISBURSED
    assert "funding-status" in page.content.decode()
    assert "140,000.00" in text_of(page) and "140,000.00" in text_of(row)


def test_what_is_missing_shows_on_the_list(client, dealer_user, dealer, customer):
    in_review(customer, dealer, documents=("id_card_front",))
    client.force_login(dealer_user)

    row = client.get(WORKSPACE).context["rows"][0]

    assert {need.document_type.code for need in row.needs} == {
        "driving_licence",
        "id_card_back",
        "income_proof",
    }


def test_the_milestone_filter(client, dealer_user, dealer, customer, other_customer, reviewer, approver):
    reviewing = in_review(customer, dealer)
    offered = at_offer(other_customer, dealer, reviewer, approver)
    client.force_login(dealer_user)

    step2 = client.get(WORKSPACE, {"milestone": "2"}).content.decode()
    step3 = client.get(WORKSPACE, {"milestone": "3"}).content.decode()

    assert reviewing.reference in step2 and offered.reference not in step2
    assert offered.reference in step3 and reviewing.reference not in step3


# --- Search -----------------------------------------------------------------------------------------


def test_a_reference_search_comes_back_in_the_address(client, dealer_user, dealer, customer, other_customer):
    wanted, other = in_review(customer, dealer), in_review(other_customer, dealer)
    client.force_login(dealer_user)

    response = client.post(WORKSPACE, {"q": wanted.display_reference.lower()})

    assert response.url == f"{WORKSPACE}?q={wanted.reference}"
    page = client.get(response.url).content.decode()
    assert wanted.reference in page and other.reference not in page


def test_a_phone_search_keeps_the_number_out_of_the_address(
    client, dealer_user, dealer, customer, other_customer
):
    wanted = start_walk_in(dealer, dealer_user, buyer_phone=BUYER_PHONE)
    other = in_review(other_customer, dealer)
    client.force_login(dealer_user)

    response = client.post(WORKSPACE, {"q": "１３９-1234-5678"})

    assert BUYER_PHONE not in response.url and "find=" in response.url
    page = client.get(response.url)
    assert wanted.reference in page.content.decode() and other.reference not in page.content.decode()
    assert "139****5678" in text_of(page)
    # Another browser has not made that search.
    client.logout()
    client.force_login(dealer_user)
    assert client.get(response.url).context["rows"] == []


def test_a_name_search_finds_the_buyer_and_keeps_the_name_out_of_the_address(
    client, dealer_user, dealer, customer
):
    wanted = in_review(customer, dealer)
    client.force_login(dealer_user)

    response = client.post(WORKSPACE, {"q": "张伟"})

    assert "张" not in response.url
    assert wanted.reference in client.get(response.url).content.decode()


def test_a_search_never_finds_another_dealerships_file(client, dealer_user, other_dealer_user, customer):
    theirs = in_review(customer, other_dealer_user.dealerships.get())
    client.force_login(dealer_user)

    response = client.post(WORKSPACE, {"q": theirs.reference})

    assert client.get(response.url).context["rows"] == []
    assert client.get(detail(theirs)).status_code == 404


# --- Query counts -----------------------------------------------------------------------------------


def test_the_list_costs_the_same_whatever_its_length(
    client, dealer_user, dealer, customer, django_assert_num_queries
):
    for _ in range(3):
        in_review(customer, dealer)
    client.force_login(dealer_user)
    client.get(WORKSPACE)  # warms the configuration and the stage durations' caches

    # The user, their permissions (their own and their groups'), their dealerships, the count, the
    # page with applicant, claim, dealer, product and cause joined, the page's documents and
    # requests (dealer_rows), the navbar's unread count. The session is in the cache.
    with django_assert_num_queries(9):
        client.get(WORKSPACE)
    for _ in range(3):
        in_review(customer, dealer)
    with django_assert_num_queries(9):
        client.get(WORKSPACE)


def test_a_file_of_any_amount_shows_its_figures(
    client, dealer_user, dealer, django_capture_on_commit_callbacks
):
    application = start_walk_in(dealer, dealer_user, requested_amount=Decimal("120000.00"))
    client.force_login(dealer_user)

    assert "120,000.00" in text_of(client.get(detail(application)))


def test_the_navbar_leads_a_signed_in_dealer_to_the_workspace_and_nobody_else(client, dealer_user, customer):
    mine = f'href="{reverse("applications:list")}"'
    client.login(username=dealer_user.username, password="a-Long-passphrase-42")
    page = client.get("/").content.decode()
    assert WORKSPACE in page
    assert mine not in page  # a dealer's navbar leaves out the customer's own pages

    client.logout()
    client.login(username=customer.username, password="a-Long-passphrase-42")
    page = client.get("/").content.decode()
    assert WORKSPACE not in page
    assert mine in page


def test_a_files_page_costs_a_fixed_number_of_queries(
    client, dealer_user, dealer, customer, reviewer, approver, django_assert_num_queries
):
    offered = at_offer(customer, dealer, reviewer, approver)
    client.force_login(dealer_user)
    client.get(detail(offered))  # warms the configuration and the stage durations' caches

    # The user, their permissions (own and groups'), the file with applicant, claim, dealer,
    # product and cause joined; the timeline's events, documents and requests; the dealership's
    # documents and the types it may upload; the navbar's unread count.
    with django_assert_num_queries(10):
        client.get(detail(offered))


@pytest.mark.parametrize("persona", EXPECTED)
def test_only_the_dealerships_staff_text_a_new_link(
    client, personas, persona, dealer, dealer_user, django_capture_on_commit_callbacks
):
    application = start_walk_in(dealer, dealer_user)
    url = reverse("applications:dealer_link_resend", args=[application.reference])

    with django_capture_on_commit_callbacks(execute=True):
        response = as_persona(client, personas, persona).post(url)

    assert response.status_code == {"own": 302, "other": 404, "customer": 403, "anonymous": 302}[persona]
    assert len(sms.outbox) == (1 if persona == "own" else 0)


def test_the_dealers_file_page_speaks_of_the_buyers_steps(client, dealer_user, dealer, customer):
    """The five steps on the dealer's page are the buyer's, not the reader's own."""
    application = in_review(customer=customer, dealer=dealer)
    client.force_login(dealer_user)
    page = client.get(detail(application), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "购车人的五个步骤" in page
    assert "您的五个步骤" not in page
