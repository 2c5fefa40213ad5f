"""API keys: only a hash at rest, the secret shown once to the manager who creates it in the
admin, revocable, the last-used time written at most once a minute."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.utils import timezone

from api.models import ApiKey, DealerApiUser, Scope
from api.services import api_key_authenticate
from applications.models import StageEvent

from .builders import bearer, dealer_type, make_key, pdf_upload

pytestmark = pytest.mark.django_db


def test_only_the_prefix_and_a_hash_are_stored(dealer, manager):
    api_key, plaintext = make_key(dealer=dealer, created_by=manager)
    _lp, prefix, secret = plaintext.split("_", 2)
    assert api_key.prefix == prefix
    assert api_key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.filter(pk=api_key.pk).values().get())
    assert len(secret) >= 43  # 32 random bytes


def test_the_dealerships_keys_share_one_api_user_in_its_staff(dealer, manager):
    first, _ = make_key(dealer=dealer, created_by=manager)
    second, _ = make_key(dealer=dealer, created_by=manager, name="Second")
    assert first.actor == second.actor == DealerApiUser.objects.get(dealer=dealer).user
    assert dealer.staff.filter(pk=first.actor.pk).exists()
    assert not first.actor.has_usable_password()
    first.actor.full_clean()  # a user name the admin's own form accepts
    assert first.created_by == manager


def test_last_used_is_written_at_most_once_a_minute(dealer, manager, django_assert_num_queries):
    api_key, plaintext = make_key(dealer=dealer, created_by=manager)
    start = timezone.now()
    # The key, and the last-used update; a minute later the key only; then both again.
    for after, queries in ((0, 2), (59, 1), (61, 2)):
        with (
            time_machine.travel(start + dt.timedelta(seconds=after), tick=False),
            django_assert_num_queries(queries),
        ):
            api_key_authenticate(presented=plaintext)
    api_key.refresh_from_db()
    assert api_key.last_used_at == start + dt.timedelta(seconds=61)


def test_history_names_the_dealerships_system_not_the_manager(api, own_file, write_key, writer, manager):
    api.post(
        f"/api/v1/applications/{own_file.reference}/documents/",
        {"document_type": dealer_type().code, "file": pdf_upload()},
        HTTP_IDEMPOTENCY_KEY="h1",
        **writer,
    )
    event = StageEvent.objects.filter(application=own_file).order_by("-sequence").first()
    assert event.actor_id == write_key[0].actor_id != manager.pk


# --- The admin ---------------------------------------------------------------------------------


def test_a_manager_creates_a_key_and_sees_its_secret_once(client, manager, dealer):
    client.force_login(manager)
    response = client.post(
        "/admin/api/apikey/add/", {"dealer": dealer.pk, "name": "Showroom DMS", "scope": Scope.WRITE}
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get()
    page = response.content.decode()
    start = page.index(f"lp_{api_key.prefix}_")
    plaintext = page[start : page.index('"', start)]
    assert api_key_authenticate(presented=plaintext) == api_key
    assert (api_key.dealer, api_key.scope, api_key.created_by) == (dealer, Scope.WRITE, manager)
    # Never again: the key's own page shows the prefix only.
    again = client.get(f"/admin/api/apikey/{api_key.pk}/change/").content.decode()
    assert plaintext not in again
    assert f"lp_{api_key.prefix}_…" in again


def test_a_manager_revokes_keys_and_they_stop_working(client, api, manager, own_file, write_key, writer):
    client.force_login(manager)
    response = client.post(
        "/admin/api/apikey/", {"action": "revoke", "_selected_action": [write_key[0].pk]}, follow=True
    )
    assert response.status_code == 200
    write_key[0].refresh_from_db()
    assert write_key[0].revoked_at is not None
    assert api.get("/api/v1/applications/", **writer).status_code == 401


@pytest.mark.parametrize("role", ["reviewer", "approver", "dealer"])
def test_only_managers_see_the_keys(client, cast, role, write_key):
    client.force_login(cast[role])
    assert client.get("/admin/api/apikey/").status_code in (302, 403)
    assert client.get("/admin/api/apikey/add/").status_code in (302, 403)


def test_a_read_key_reads(api, own_file, read_key):
    assert api.get("/api/v1/applications/", **bearer(read_key[1])).status_code == 200


@pytest.mark.parametrize("count", [1, 6])
def test_the_key_list_reads_a_fixed_number_of_queries(
    client, manager, dealer, other_dealer, count, django_assert_num_queries
):
    for index in range(count):
        make_key(dealer=dealer if index % 2 else other_dealer, created_by=manager, name=f"Key {index}")
    client.force_login(manager)
    client.get("/admin/api/apikey/")  # the session and the configuration caches warmed
    # 1. the user (the session is in the cache), 2. the dealer filter's choices, 3-4. the admin's
    # two counts (filtered, all), 5-7. the user's permissions (which answer "may manage keys") and
    # role names for the menus, 8. the page of keys with their dealers and creators: the same
    # whatever the number of keys.
    with django_assert_num_queries(8):
        response = client.get("/admin/api/apikey/")
    assert response.status_code == 200
    page = response.content.decode()
    assert all(f"lp_{key.prefix}_…" in page for key in ApiKey.objects.all())
