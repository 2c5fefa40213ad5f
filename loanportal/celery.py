"""The Celery app. Tasks are thin: they take ids, load, and call a service."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loanportal.settings.development")

app = Celery("loanportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
