"""The health check of beat's SLA sweep, for ``/health/`` (django-health-check).

The sweep records each pass it completes in a ``SweepRun`` row (``services.sla_sweep``); a pass
older than two beat intervals (``SLA_SWEEP_INTERVAL``) means beat, the workers or the broker have
stopped, and nobody is reminded of a late file. One indexed read of one row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.conf import settings
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from .models import SweepRun
from .services import SWEEP_NAME


@dataclasses.dataclass
class SlaSweepRecent(HealthCheck):
    intervals: int = 2

    async def run(self) -> None:
        # The async ORM runs the query on the request's own thread and connection.
        last = await SweepRun.objects.filter(name=SWEEP_NAME).values_list("finished_at", flat=True).afirst()
        if last is None:
            raise ServiceUnavailable("The SLA sweep has not completed a pass yet.")
        allowed = dt.timedelta(seconds=float(settings.SLA_SWEEP_INTERVAL) * self.intervals)
        if timezone.now() - last > allowed:
            raise ServiceUnavailable(f"The last SLA sweep finished more than {self.intervals} intervals ago.")
