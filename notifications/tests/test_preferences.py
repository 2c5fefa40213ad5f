"""Notification settings: each signed-in person chooses email and text messages for themselves;
the next notification's deliveries follow the choice; staff can set it in the admin."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from notifications.choices import Channel, DeliveryStatus, Kind
from notifications.models import ChannelPreference, Notification
from notifications.services import channel_preference_update, notification_create

pytestmark = pytest.mark.django_db

URL = reverse("notifications:preferences")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 3, 2, 12, tzinfo=SHANGHAI)
LATE_EVENING = dt.datetime(2026, 3, 2, 22, tzinfo=SHANGHAI)


@pytest.fixture
def with_phone(customer):
    customer.set_phone("13812345678")
    customer.save()
    return customer


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def switch(response, name: str) -> str:
    """The <input> tag of one switch, to read checked / disabled from."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())
    assert match, f"no {name} switch on the page"
    return match.group(0)


def channels_of(notification: Notification) -> dict[str, str]:
    return dict(notification.deliveries.values_list("channel", "status"))


def notify(user, *, key: str, now=NOON, kind=Kind.OFFER_READY) -> Notification:
    return notification_create(recipient_id=user.pk, kind=kind, dedupe_key=key, now=now)


# --- Who may open it ------------------------------------------------------------------------------


def test_a_customer_sees_both_switches_on_and_the_notes(client, with_phone):
    client.force_login(with_phone)

    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")

    page = text_of(response)
    assert response.status_code == 200
    assert "Notify me by email" in page and "Notify me by text message" in page
    assert "checked" in switch(response, "email") and "checked" in switch(response, "sms")
    assert "To customer@example.cn." in page and "To 138****5678." in page
    assert "13812345678" not in response.content.decode()
    assert "always in your inbox" in page
    assert "Text messages go to customers only" in page
    assert "between 21:00 and 08:00" in page and "waits until 08:00" in page
    assert "never contain amounts or your full ID card or mobile number" in page


def test_staff_have_the_page_too_and_are_told_work_notices_never_go_by_text(client, reviewer):
    reviewer.set_phone("13912345678")
    reviewer.save()
    client.force_login(reviewer)

    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "Notices about your work (reminders, escalations, new files, the daily summary) never go" in (
        text_of(response)
    )


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for method in ("get", "post"):
        response = getattr(client, method)(URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    assert not ChannelPreference.objects.exists()


def test_the_page_answers_only_get_and_post(client, customer):
    client.force_login(customer)
    assert client.put(URL).status_code == 405
    assert client.delete(URL).status_code == 405


def test_the_inbox_and_the_header_link_to_the_settings(client, customer):
    client.force_login(customer)
    html = client.get(reverse("notifications:inbox")).content.decode()
    assert html.count(f'href="{URL}"') == 2  # the inbox's own link and the user menu's


# --- Saving ---------------------------------------------------------------------------------------


def test_reading_the_page_writes_nothing(client, customer):
    client.force_login(customer)
    client.get(URL)
    assert not ChannelPreference.objects.exists()


def test_turning_email_off_leaves_the_next_notification_without_an_email(client, with_phone):
    client.force_login(with_phone)

    response = client.post(URL, {"sms": "on"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert "Your notification settings are saved." in text_of(response)
    assert "checked" not in switch(response, "email") and "checked" in switch(response, "sms")
    preference = ChannelPreference.objects.get(user=with_phone)
    assert (preference.email, preference.sms) == (False, True)
    assert channels_of(notify(with_phone, key="noon")) == {Channel.SMS: DeliveryStatus.PENDING}
    # In the quiet hours the text message waits until 08:00; still no email.
    assert channels_of(notify(with_phone, key="late", now=LATE_EVENING)) == {
        Channel.SMS: DeliveryStatus.DEFERRED
    }


def test_both_off_leaves_only_the_inbox(client, with_phone):
    client.force_login(with_phone)

    client.post(URL, {})

    notification = notify(with_phone, key="k")
    assert channels_of(notification) == {}
    assert Notification.objects.filter(recipient=with_phone).count() == 1  # the in-app copy


def test_turning_a_channel_back_on_restores_it(client, with_phone):
    channel_preference_update(user=with_phone, email=False, sms=False)
    client.force_login(with_phone)

    client.post(URL, {"email": "on", "sms": "on"})

    assert channels_of(notify(with_phone, key="k")) == {
        Channel.EMAIL: DeliveryStatus.PENDING,
        Channel.SMS: DeliveryStatus.PENDING,
    }


def test_a_user_cannot_change_someone_elses_preferences(client, with_phone, other_customer):
    channel_preference_update(user=other_customer, email=True, sms=True)
    client.force_login(with_phone)

    # Nothing in the form names a user: whatever is posted, only the signed-in user's row changes.
    client.post(URL, {"user": other_customer.pk, "user_id": other_customer.pk})

    theirs = ChannelPreference.objects.get(user=other_customer)
    mine = ChannelPreference.objects.get(user=with_phone)
    assert (theirs.email, theirs.sms) == (True, True)
    assert (mine.email, mine.sms) == (False, False)


def test_saving_needs_the_csrf_token(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    assert client.post(URL, {}).status_code == 403
    assert not ChannelPreference.objects.exists()


# --- Channels the account cannot be reached on -----------------------------------------------------


def test_without_a_mobile_number_the_text_switch_is_off_disabled_and_explained(client, customer):
    client.force_login(customer)

    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")

    tag = switch(response, "sms")
    assert "disabled" in tag and "checked" not in tag
    assert "Your account has no mobile number, so we cannot send you text messages." in text_of(response)
    assert "disabled" not in switch(response, "email")


def test_without_an_email_address_the_email_switch_is_off_disabled_and_explained(client, make_user):
    user = make_user("phone_only", "customer")
    user.email = ""
    user.set_phone("13712345678")
    user.save()
    client.force_login(user)

    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")

    tag = switch(response, "email")
    assert "disabled" in tag and "checked" not in tag
    assert "Your account has no email address, so we cannot send you email." in text_of(response)


def test_saving_keeps_the_stored_choice_of_a_disabled_switch(client, customer):
    """No mobile number: whatever is posted for text messages, the earlier choice stays."""
    client.force_login(customer)
    channel_preference_update(user=customer, email=True, sms=False)

    client.post(URL, {"email": "on", "sms": "on"})
    assert ChannelPreference.objects.get(user=customer).sms is False

    channel_preference_update(user=customer, email=True, sms=True)
    client.post(URL, {"email": "on"})
    assert ChannelPreference.objects.get(user=customer).sms is True


def test_a_typed_email_address_is_escaped_in_the_hint(client, make_user):
    user = make_user("odd", "customer")
    user.email = '"<b>odd</b>"@example.cn'  # a quoted local part is a valid address
    user.save()
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert "<b>odd</b>" not in html and "&lt;b&gt;odd&lt;/b&gt;" in html


# --- Cost -----------------------------------------------------------------------------------------


def test_the_page_costs_three_queries(client, with_phone, django_assert_num_queries):
    channel_preference_update(user=with_phone, email=False, sms=True)
    client.force_login(with_phone)
    # user; the preference; the unread count in the header (the session comes from the cache)
    with django_assert_num_queries(3):
        assert client.get(URL).status_code == 200


# --- In the admin -----------------------------------------------------------------------------------


def test_a_manager_finds_a_preference_by_user_name_and_turns_sms_off(
    client, manager, customer, other_customer, django_assert_num_queries
):
    channel_preference_update(user=customer, email=True, sms=True)
    channel_preference_update(user=other_customer, email=True, sms=True)
    client.force_login(manager)
    changelist = reverse("admin:notifications_channelpreference_changelist")

    # user; the manager's permissions (their own, their groups'); their role names, read once for
    # the menu (managers-only entries such as staff sign-in); the count of matching rows; the page of
    # rows with each user joined (no total of all rows: switched off); the session comes from the cache
    with django_assert_num_queries(6):
        response = client.get(changelist, {"q": "other_customer"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [ChannelPreference.objects.get(user=other_customer)]

    preference = ChannelPreference.objects.get(user=customer)
    response = client.post(
        reverse("admin:notifications_channelpreference_change", args=[preference.pk]), {"email": "on"}
    )
    assert response.status_code == 302
    preference.refresh_from_db()
    assert (preference.email, preference.sms) == (True, False)


def test_a_manager_adds_a_preference_by_user_name(client, manager, customer):
    client.force_login(manager)
    url = reverse("admin:notifications_channelpreference_add")

    unknown = client.post(url, {"user": "nobody", "email": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(url, {"user": "customer", "email": "on"})

    assert "No account has this user name." in unknown.content.decode()
    assert response.status_code == 302
    preference = ChannelPreference.objects.get(user=customer)
    assert (preference.email, preference.sms) == (True, False)


def test_other_staff_cannot_open_the_preferences_in_the_admin(client, reviewer):
    client.force_login(reviewer)
    response = client.get(reverse("admin:notifications_channelpreference_changelist"))
    assert response.status_code == 403
