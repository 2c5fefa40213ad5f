from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from applications.models import Applicant, ThreadMessage
from applications.services.documents import document_files_reseal, stored_files_reseal
from common.pii import keyed_hash, reset_key_cache


class Command(BaseCommand):
    help = (
        "Re-encrypt personal data under the newest key in PII_ENCRYPTION_KEYS and recompute the "
        "look-up hashes with PII_HASH_KEY, and seal every stored document again under the new key. "
        "Run after prepending a new key; then the old key can go."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options) -> None:
        reset_key_cache()
        applicants = self._rotate(
            Applicant.objects.order_by("pk"),
            batch_size,
            lambda a: (
                setattr(a, "id_number_hash", keyed_hash(a.id_number)),
                setattr(a, "phone_hash", keyed_hash(a.phone)),
            ),
            ["id_number", "id_number_hash", "phone", "phone_hash", "monthly_income", "monthly_debt"],
        )
        users = self._rotate(
            get_user_model().objects.exclude(phone="").order_by("pk"),
            batch_size,
            lambda u: setattr(u, "phone_hash", keyed_hash(u.phone)),
            ["phone", "phone_hash"],
        )
        documents, missing = document_files_reseal()
        attachments, missing_attachments = stored_files_reseal(model=ThreadMessage, field="attachment")
        missing += missing_attachments
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {applicants} applicants, {users} users, {documents} document files"
                f" and {attachments} attachments of questions."
            )
        )
        if missing:
            self.stdout.write(
                self.style.WARNING(f"{missing} document or attachment files named by rows were not found.")
            )

    def _rotate(self, queryset, batch_size, rehash, fields) -> int:
        done = 0
        last_pk = 0
        while True:
            batch = list(queryset.filter(pk__gt=last_pk)[:batch_size])
            if not batch:
                return done
            for obj in batch:
                rehash(obj)  # saving encrypts again, under the newest key
            with transaction.atomic():
                type(batch[0]).objects.bulk_update(batch, fields)
            done += len(batch)
            last_pk = batch[-1].pk
