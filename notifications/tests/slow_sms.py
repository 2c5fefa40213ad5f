"""A log-file SMS backend that waits before writing: a worker can be killed mid-send."""

from __future__ import annotations

import os
import time

from notifications.sms import LogFileBackend


class SlowLogFileBackend(LogFileBackend):
    def send(self, *, phone: str, text: str, reference: str) -> None:
        time.sleep(float(os.environ.get("SMS_SLOW_SECONDS", "30")))
        super().send(phone=phone, text=text, reference=reference)
