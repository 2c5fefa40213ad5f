"""The Celery app. Tasks are thin: they take ids, load, and call a service."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loanportal.settings.development")

app = Celery("loanportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def _make_broker_folders(sender: Celery, **kwargs) -> None:
    """The file-system broker of `make run` needs its folders before the first message, beat its schedule's."""
    from pathlib import Path

    from django.conf import settings

    # Read Django's settings, not sender.conf: reading the conf while it is being configured recurses.
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    # Beat's schedule file lives there too, with Redis as the broker as well (a fresh clone has no var/celery).
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE_FILENAME", "")
    if schedule:
        Path(schedule).parent.mkdir(parents=True, exist_ok=True)
