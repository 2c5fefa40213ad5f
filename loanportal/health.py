"""``/health/`` for load balancers and monitoring (django-health-check): the status, never the details.

Two pages, the same checks machinery:

- ``/health/``: everything the portal needs to keep its promises: the database, the cache (Redis in
  production), Celery's broker, the document storage (a probe file saved, read back through the
  encryption and deleted) and beat's SLA sweep (a pass within two intervals). For monitoring.
- ``/health/web/``: what a web host needs to serve a page (database, cache, storage). For a load
  balancer's routing check: a stopped beat must page someone, not take every web host out.

The answer is ``ok`` (200) or ``unavailable`` (500), plain text, never cached, for anyone: no check
names, hosts or error text (the library's own pages print each check with its error). Which check
failed, and why, goes to the log (``loanportal.health``), and ``manage.py health_check health``
runs the same checks from a shell.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

from django.http import HttpResponse
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

logger = logging.getLogger("loanportal.health")


@dataclasses.dataclass
class CeleryBroker(HealthCheck):
    """Celery's broker accepts a connection (Redis in production, a folder under ``make run``)."""

    timeout = dt.timedelta(seconds=3)

    def run(self) -> None:
        from loanportal.celery import app

        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=0, timeout=self.timeout.total_seconds())
        except Exception as error:  # kombu raises the transport's own errors
            raise ServiceUnavailable("The Celery broker does not accept a connection.") from error


WEB_CHECKS = (
    "health_check.checks.Database",
    "health_check.checks.Cache",
    "health_check.checks.Storage",
)
ALL_CHECKS = (*WEB_CHECKS, "loanportal.health.CeleryBroker", "notifications.health.SlaSweepRecent")


class StatusOnlyHealthCheckView(HealthCheckView):
    checks = ALL_CHECKS

    async def get(self, request, *args, **kwargs) -> HttpResponse:
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        failed = [result for result in results if result.error]
        for result in failed:
            logger.error("Health check %r failed: %s", result.check, result.error)
        return HttpResponse(
            "unavailable\n" if failed else "ok\n",
            status=500 if failed else 200,
            content_type="text/plain; charset=utf-8",
        )


health = StatusOnlyHealthCheckView.as_view(checks=ALL_CHECKS)
health_web = StatusOnlyHealthCheckView.as_view(checks=WEB_CHECKS)
