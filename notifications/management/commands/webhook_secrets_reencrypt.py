"""Encrypt the webhook endpoints' secrets again under the newest of PII_ENCRYPTION_KEYS.

Part of rotating the encryption key (README, "Rotating the encryption key"), beside the core's
``rotate_pii_keys``, which cannot reach this app's tables (the core imports no other app).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from common.pii import reset_key_cache
from notifications.webhooks.services import webhook_secrets_reencrypt


class Command(BaseCommand):
    help = "Encrypt every webhook endpoint's secrets again under the newest PII encryption key."

    def handle(self, *args, **options) -> None:
        reset_key_cache()
        count = webhook_secrets_reencrypt()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the secrets of {count} webhook endpoints."))
