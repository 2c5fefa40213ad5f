"""The production topology as `make cluster` runs it (Procfile.cluster; README, "Running it in
production"): web processes on their own ports, a worker for every queue, exactly one beat, and
every task routed to the queue of its kind."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time

import psutil
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


# bin/restarting ----------------------------------------------------------------------------------

RESTARTING = settings.BASE_DIR / "bin" / "restarting"
# A main process that leaves a child behind when it dies, as a gunicorn master leaves its workers.
LEAVES_A_CHILD = "sleep 600 & exec sleep 601"


def ended(process: psutil.Process) -> bool:
    """Gone, or a zombie waiting for init to reap it (it holds no port or file any more)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(condition, seconds: float = 15):
    """Poll ``condition`` (a supervisor's work is seen only from outside) until it gives a value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {condition.__doc__}")


def run_of(supervisor: psutil.Process) -> tuple[psutil.Process, psutil.Process] | None:
    """The supervised main process and the child it left, once both are running."""
    main = [p for p in supervisor.children() if "601" in " ".join(p.cmdline())]
    if not main:
        return None
    left = main[0].children()
    return (main[0], left[0]) if left else None


@pytest.fixture
def supervisor():
    started = subprocess.Popen(  # noqa: S603 (our own script)
        [str(RESTARTING), "sh", "-c", LEAVES_A_CHILD],
        env={**os.environ, "RESTARTING_STOP_GRACE": "2"},
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    yield started
    with contextlib.suppress(ProcessLookupError):
        os.killpg(started.pid, signal.SIGKILL)
    started.wait(5)


def test_a_killed_main_process_takes_what_it_left_behind_and_is_started_again(supervisor):
    """A gunicorn master killed with SIGKILL leaves workers holding its port; like systemd's
    KillMode=control-group, the supervisor ends them before starting the program again."""
    watched = psutil.Process(supervisor.pid)
    main, left = wait_until(lambda: run_of(watched))

    main.kill()

    wait_until(lambda: ended(left))
    again, _ = wait_until(lambda: run_of(watched))
    assert again.pid != main.pid
    assert os.getpgid(again.pid) == again.pid  # each run in a group of its own


def test_stopping_the_supervisor_stops_its_program_and_everything_the_program_started(supervisor):
    """honcho's Ctrl-C and the load harness stop a process with SIGTERM to its supervisor's group;
    the program runs in a session of its own, so the supervisor must pass it on."""
    main, left = wait_until(lambda: run_of(psutil.Process(supervisor.pid)))

    os.killpg(supervisor.pid, signal.SIGTERM)

    assert supervisor.wait(10) == 143
    wait_until(lambda: ended(main) and ended(left))
