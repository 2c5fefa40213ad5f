"""The production topology as `make cluster` runs it (Procfile.cluster; README, "Running it in
production"): web processes on their own ports, a worker for every queue, exactly one beat, and
every task routed to the queue of its kind."""

from __future__ import annotations

import re
import shlex

import pytest
from django.conf import settings

from loanportal.celery import app

PROCFILE = settings.BASE_DIR / "Procfile.cluster"


def processes() -> dict[str, list[str]]:
    """Each process's name and its command's words (the environment assignments left out)."""
    found = {}
    for line in PROCFILE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        words = [word for word in shlex.split(command) if not re.fullmatch(r"[A-Z_]+=.*", word)]
        found[name.strip()] = words
    return found


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_exactly_one_beat():
    beats = [name for name, words in processes().items() if "beat" in words]
    assert beats == ["beat"]


def test_every_queue_has_a_worker_and_every_worker_its_queues():
    workers = {name: words for name, words in processes().items() if "worker" in words}
    consumed = [queue for words in workers.values() for queue in option(words, "--queues").split(",")]
    assert sorted(consumed) == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES)


def test_web_processes_listen_on_ports_of_their_own():
    binds = [option(words, "--bind") for words in processes().values() if "loanportal.wsgi" in words]
    assert len(binds) >= 2 and len(set(binds)) == len(binds)
    for words in processes().values():
        if "loanportal.wsgi" in words:
            assert "--no-control-socket" in words  # gunicorn's control socket is shared otherwise


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("applications.tasks.precheck_run", "precheck"),
        ("applications.tasks.precheck_sweep", "precheck"),
        ("notifications.tasks.deliver", "notifications"),
        ("notifications.tasks.relay", "notifications"),
        ("notifications.tasks.sla_sweep", "notifications"),
        ("notifications.webhooks.tasks.webhook_deliver", "notifications"),
        ("reports.tasks.stay_rollup_refresh", "reports"),
        ("reports.tasks.report_refresh", "reports"),
        ("applications.tasks.applications_expire", "celery"),
        ("applications.tasks.prediction_refresh", "celery"),
        ("accounts.tasks.one_time_codes_purge", "celery"),
    ],
)
def test_tasks_are_routed_by_kind(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_every_task_lands_on_a_queue_some_worker_consumes():
    consumed = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert ours
    for name in ours:
        assert app.amqp.router.route({}, name)["queue"].name in consumed, name


def test_the_documented_proxy_sends_to_every_web_process():
    nginx = (settings.BASE_DIR / "docs" / "nginx.conf").read_text()
    upstream = re.search(r"upstream loanportal_web \{(.*?)\}", nginx, re.S).group(1)
    servers = re.findall(r"server (127\.0\.0\.1:\d+)", upstream)
    binds = [option(words, "--bind") for words in processes().values() if "loanportal.wsgi" in words]
    defaults = [re.sub(r"\$\{\w+:-(\d+)\}", r"\1", bind) for bind in binds]
    assert sorted(servers) == sorted(defaults)


def test_every_process_is_started_again_when_it_exits():
    assert all(words[0] == "bin/restarting" for words in processes().values())
