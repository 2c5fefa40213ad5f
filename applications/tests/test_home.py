"""The public home page: open to everyone, Chinese by default, English on request, one query."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from pytest_django.asserts import assertContains, assertNotContains, assertTemplateUsed

from applications.choices import MILESTONES, Stage
from applications.models import StageDefinition
from applications.prediction import duration_table_refresh

from .factories import at_offer, awaiting_documents, detail_url, in_review

HOME = "/"


def milestone_titles(language: str) -> list[str]:
    """The five milestone titles as the catalogue renders them in ``language``."""
    with translation.override(language):
        return [str(milestone.title) for milestone in MILESTONES]


def stage_titles(language_suffix: str) -> list[str]:
    """The customer-facing titles of every stage that belongs to a milestone, from the configuration."""
    stages = [stage for milestone in MILESTONES for stage in milestone.stages]
    return list(
        StageDefinition.objects.filter(stage__in=stages).values_list(f"title_{language_suffix}", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", [None, "customer", "dealer_user", "reviewer"])
def test_home_page_is_open_to_everyone(client, request, persona):
    if persona:
        client.force_login(request.getfixturevalue(persona))

    response = client.get(HOME)

    assert response.status_code == 200
    assertTemplateUsed(response, "home.html")


@pytest.mark.django_db
def test_home_page_is_in_chinese_when_the_browser_asks_for_nothing(client):
    response = client.get(HOME)  # the test client sends no Accept-Language header

    assertContains(response, '<html lang="zh-hans">')
    for title in milestone_titles("zh-hans"):
        assertContains(response, escape(title))
    for title in stage_titles("zh_hans"):
        assertContains(response, escape(title))
    assertContains(response, "自动预审")
    assertNotContains(response, "Automatic pre-check")


@pytest.mark.django_db
def test_language_switcher_turns_the_home_page_english_and_back(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": HOME}, follow=True)

    assert response.redirect_chain == [(HOME, 302)]
    assertContains(response, '<html lang="en">')
    for title in milestone_titles("en"):
        assertContains(response, escape(title))
    for title in stage_titles("en"):
        assertContains(response, escape(title))
    assertNotContains(response, "自动预审")

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": HOME}, follow=True)

    assertContains(response, '<html lang="zh-hans">')
    assertContains(response, "自动预审")


@pytest.mark.django_db
def test_language_cookie_alone_selects_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(HOME)

    assertContains(response, '<html lang="en">')
    assertContains(response, "Automatic pre-check")


@pytest.mark.django_db
def test_language_switcher_returns_to_the_page_it_was_used_on(client):
    response = client.get(HOME, {"from": "showroom"})

    assertContains(response, f'action="{reverse("set_language")}"')
    assertContains(response, '<input type="hidden" name="next" value="/?from=showroom">', html=True)
    # Both languages are offered, each in its own words; the active one is marked.
    assertContains(response, "中文")
    assertContains(response, "English")
    assertContains(response, 'aria-current="true"', count=1)


def navbar_staff_link(response) -> str:
    """The text of the navbar's link to the back office."""
    match = re.search(r'<a class="nav-link" href="/admin/">\s*(.*?)\s*</a>', response.content.decode(), re.S)
    assert match, "the navbar has no link to /admin/"
    return match.group(1)


@pytest.mark.django_db
def test_navbar_offers_staff_sign_in_to_visitors_and_back_office_to_staff(client, reviewer):
    with translation.override("zh-hans"):
        sign_in, back_office = gettext("Staff sign-in"), gettext("Back office")

    assert navbar_staff_link(client.get(HOME)) == sign_in

    client.force_login(reviewer)
    assert navbar_staff_link(client.get(HOME)) == back_office


@pytest.mark.django_db
def test_home_page_links_only_local_assets(client):
    content = client.get(HOME).content.decode()

    # Everything comes from our own static files: no CDN, no web fonts, no external anything.
    assert "/static/img/favicon.svg" in content
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in content
    assert "/static/css/site.css" in content
    assert "https://" not in content and "http://" not in content


@pytest.mark.django_db
def test_home_page_reads_the_configuration_once_then_from_the_cache(client, django_assert_num_queries):
    # An anonymous visitor without a session cookie costs no session or user query, so the page's
    # only query is for the stage definitions (selectors.milestone_overview), from the cached
    # configuration: the first visit loads it (stage definitions, document types, reasons), later
    # visits read none.
    with django_assert_num_queries(3):
        response = client.get(HOME)
    with django_assert_num_queries(0):
        client.get(HOME)

    assert response.status_code == 200


@pytest.mark.django_db
def test_localized_filter_picks_the_active_language():
    definition = StageDefinition.objects.get(stage=Stage.UNDER_REVIEW)
    template = Template('{% load loanportal %}{{ definition|localized:"title" }}')

    with translation.override("en"):
        assert template.render(Context({"definition": definition})) == definition.title_en
    with translation.override("zh-hans"):
        assert template.render(Context({"definition": definition})) == definition.title_zh_hans


@pytest.mark.parametrize(
    ("level", "css_class"),
    [(messages.ERROR, "alert-danger"), (messages.SUCCESS, "alert-success"), (messages.INFO, "alert-info")],
)
def test_messages_take_bootstrap_alert_colours(level, css_class):
    template = Template("{% load loanportal %}{{ message|alert_class }}")

    assert template.render(Context({"message": Message(level, "text")})) == css_class


# --- Where to go from here: apply or track; signed in, the customer's own applications ------------


def hero_links(response) -> list[str]:
    hero = response.content.decode().split('class="lp-hero"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a class="btn[^"]*"\s+href="([^"]+)"', hero)


@pytest.mark.django_db
def test_a_visitor_is_offered_to_apply_or_to_track_an_application(client):
    response = client.get(HOME)

    assert hero_links(response) == [reverse("applications:apply_start"), reverse("applications:track")]
    assertContains(response, "申请车贷")
    assertContains(response, "查询申请进度")
    assertContains(response, 'id="steps"')  # the five steps stay below
    assertContains(response, "lp-preview")  # the example timeline, for visitors only


@pytest.mark.django_db
def test_a_signed_in_customer_sees_their_own_applications_and_what_each_needs(
    client, customer, other_customer, dealer, reviewer, approver
):
    reviewing = in_review(customer, dealer)
    waiting = awaiting_documents(customer, dealer, reviewer)
    offered = at_offer(customer, dealer, reviewer, approver)
    theirs = in_review(other_customer, dealer)
    client.force_login(customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(HOME)

    cards = {card.card.application: card for card in response.context["home_cards"]}
    assert set(cards) == {reviewing, waiting, offered}
    assert theirs.display_reference not in response.content.decode()
    assertNotContains(response, "lp-preview")  # no example timeline: the real ones instead
    assert hero_links(response) == [reverse("applications:apply_start"), "#lp-mine"]
    assertContains(response, "Start a new application")
    # What each one needs, with the way to do it.
    assertContains(response, "We need documents from you to continue.")
    assertContains(response, f'href="{detail_url(waiting)}#needs"')
    assertContains(response, "Your offer is waiting for your answer.")
    assertContains(response, f'href="{reverse("applications:offer", args=[offered.reference])}"')
    # When: the customer's own deadline on their stages, our expected time on ours.
    assert cards[waiting].when.startswith("Please reply by")
    assert cards[offered].when.startswith("Please reply by")
    assert cards[reviewing].when.startswith("Expected by")
    assertContains(response, cards[reviewing].when)


@pytest.mark.django_db
def test_a_customer_without_applications_is_offered_to_apply(client, customer):
    client.force_login(customer)

    response = client.get(HOME)

    assert response.context["home_cards"] == []
    assert hero_links(response)[0] == reverse("applications:apply_start")
    assertNotContains(response, 'id="lp-mine"')
    assertNotContains(response, "lp-staff")  # the staff sign-in card is for visitors only


@pytest.mark.django_db
def test_staff_are_sent_to_the_back_office_from_the_home_page(client, reviewer):
    client.force_login(reviewer)

    response = client.get(HOME)

    assert response.context["home_cards"] is None
    assert hero_links(response) == [reverse("admin:index")]
    assertContains(response, "前往管理后台")


@pytest.mark.django_db
def test_the_signed_in_home_reads_the_applications_in_one_query(
    client, customer, dealer, reviewer, approver, django_assert_num_queries
):
    in_review(customer, dealer)
    awaiting_documents(customer, dealer, reviewer)
    at_offer(customer, dealer, reviewer, approver)
    duration_table_refresh()  # as beat keeps it: the expected times read the cached figures
    client.force_login(customer)
    client.get(HOME)  # the session and the configuration are cached from here on
    # The user; the customer's applications with applicant, product and cause of delay
    # (customer_application_cards); the navbar's unread count. As many applications as they like.
    with django_assert_num_queries(3):
        response = client.get(HOME)
    assert len(response.context["home_cards"]) == 3


# --- Screen-reader text: Chinese punctuation on Chinese pages -------------------------------------

HIDDEN = re.compile(r'<(?:span|caption) class="visually-hidden">(.*?)</(?:span|caption)>', re.S)


@pytest.mark.django_db
def test_screen_reader_text_on_chinese_pages_uses_chinese_punctuation(
    client, customer, dealer, reviewer, approver
):
    offered = at_offer(customer, dealer, reviewer, approver)
    client.force_login(customer)
    pages = [HOME, reverse("applications:list"), detail_url(offered), reverse("notifications:inbox")]

    hidden = []
    for url in pages:
        content = client.get(url).content.decode()
        hidden += [re.sub(r"\s+", " ", text).strip() for text in HIDDEN.findall(content)]

    assert any(text.endswith("：") for text in hidden)  # "第 1 步：", "当前步骤："
    ascii_punctuation = [text for text in hidden if re.search(r"[():.,;]", re.sub(r"<[^>]+>", "", text))]
    assert ascii_punctuation == []
