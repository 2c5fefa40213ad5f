"""/health/ for load balancers and monitoring: 200 "ok" or 500 "unavailable", nothing else, for
anyone; beat's SLA sweep counts as healthy for two intervals after its last pass; /health/web/
leaves the sweep and the broker out."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone

from loanportal.celery import app
from notifications.models import SweepRun
from notifications.services import SWEEP_NAME
from notifications.tasks import sla_sweep

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai, a Monday


def assert_status_only(response, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == (b"ok\n" if status == 200 else b"unavailable\n")
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_health_is_ok_while_beat_swept_within_two_intervals(client, settings):
    settings.SLA_SWEEP_INTERVAL = 60.0
    with time_machine.travel(START, tick=False):
        sla_sweep.delay()  # as beat queues it (eager in tests): the pass records when it finished
        assert SweepRun.objects.get(name=SWEEP_NAME).finished_at == START

        assert_status_only(client.get("/health/"), 200)
    with time_machine.travel(START + dt.timedelta(seconds=119), tick=False):
        assert_status_only(client.get("/health/"), 200)
    with time_machine.travel(START + dt.timedelta(seconds=121), tick=False):
        assert_status_only(client.get("/health/"), 500)
        # A stopped beat must page someone, not take the web hosts out of the load balancer.
        assert_status_only(client.get("/health/web/"), 200)


def test_before_the_first_sweep_the_portal_is_not_healthy(client):
    assert not SweepRun.objects.exists()

    assert_status_only(client.get("/health/"), 500)


def test_a_failed_check_says_nothing_of_why_to_the_caller_and_everything_in_the_log(
    client, monkeypatch, caplog
):
    SweepRun.objects.create(name=SWEEP_NAME, finished_at=timezone.now())
    # Nothing listens on port 1 of 127.0.0.1: the connection is refused at once.
    monkeypatch.setitem(app.conf, "broker_url", "redis://:broker-password@127.0.0.1:1/0")

    with caplog.at_level(logging.ERROR, logger="loanportal.health"):
        response = client.get("/health/")

    assert_status_only(response, 500)
    for detail in (b"broker", b"password", b"127.0.0.1", b"Celery"):
        assert detail not in response.content
    (record,) = [r for r in caplog.records if r.name == "loanportal.health"]
    assert "CeleryBroker" in record.getMessage()
    assert "does not accept a connection" in record.getMessage()
    assert_status_only(client.get("/health/web/"), 200)


def test_the_storage_check_leaves_no_probe_file_behind(client, settings):
    from pathlib import Path

    SweepRun.objects.create(name=SWEEP_NAME, finished_at=timezone.now())

    assert_status_only(client.get("/health/"), 200)

    probes = Path(settings.MEDIA_ROOT) / "health_check_storage_test"
    assert not probes.exists() or not any(probes.iterdir())
