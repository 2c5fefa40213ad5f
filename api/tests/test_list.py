"""The dealership's list: cursor pages newest change first, updated_since for syncing, masked
personal data, and a fixed number of queries whatever the page holds."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone

from applications.tests.factories import make_draft

pytestmark = pytest.mark.django_db


def _files(customer, dealer, count: int, *, start: dt.datetime):
    files = []
    for index in range(count):
        with time_machine.travel(start + dt.timedelta(minutes=index), tick=False):
            files.append(make_draft(customer=customer, dealer=dealer, phone=f"1380000{index:04d}"))
    return files


def _walk(api, headers, url: str) -> list[str]:
    references = []
    while url:
        body = api.get(url, **headers).json()
        references += [row["reference"] for row in body["results"]]
        url = body["next"] and "{0.path}?{0.query}".format(urlsplit(body["next"]))
    return references


def test_the_cursor_walks_every_file_once_newest_change_first(api, customer, dealer, reader):
    files = _files(customer, dealer, 7, start=timezone.now() - dt.timedelta(hours=1))
    assert _walk(api, reader, "/api/v1/applications/?page_size=3") == [f.reference for f in reversed(files)]


def test_a_file_changed_during_the_walk_is_neither_skipped_nor_repeated_on_later_pages(
    api, customer, dealer, reader
):
    files = _files(customer, dealer, 4, start=timezone.now() - dt.timedelta(hours=1))
    first = api.get("/api/v1/applications/?page_size=2", **reader).json()
    files[0].save(update_fields=["updated_at"])  # the oldest file changes: it moves to the front
    rest = _walk(api, reader, "{0.path}?{0.query}".format(urlsplit(first["next"])))
    seen = [row["reference"] for row in first["results"]] + rest
    assert seen == [files[3].reference, files[2].reference, files[1].reference]
    # The next sync finds it.
    since = first["results"][0]["updated_at"]
    assert _walk(api, reader, f"/api/v1/applications/?updated_since={since.replace('+', '%2B')}") == [
        files[0].reference
    ]


def test_updated_since_keeps_files_changed_after_it(api, customer, dealer, reader):
    start = timezone.now() - dt.timedelta(hours=1)
    files = _files(customer, dealer, 3, start=start)
    since = (start + dt.timedelta(minutes=1)).isoformat().replace("+", "%2B")
    assert _walk(api, reader, f"/api/v1/applications/?updated_since={since}") == [files[2].reference]


def test_personal_data_is_masked(api, own_file, reader):
    row = api.get("/api/v1/applications/", **reader).json()["results"][0]
    assert (row["buyer_name"], row["buyer_phone"]) == ("张*", "138****5678")
    text = api.get("/api/v1/applications/", **reader).content.decode()
    assert "13812345678" not in text
    assert own_file.applicant.id_number not in text


@pytest.mark.parametrize("count", [1, 20])
def test_the_list_takes_two_queries_whatever_its_length(
    api, customer, dealer, reader, count, django_assert_num_queries
):
    _files(customer, dealer, count, start=timezone.now() - dt.timedelta(hours=1))
    api.get("/api/v1/applications/", **reader)  # the key's last-used time written once
    # 1. the key with its dealership and API user; 2. the page of files with their buyers.
    with django_assert_num_queries(2):
        response = api.get("/api/v1/applications/", **reader)
    assert len(response.json()["results"]) == count
