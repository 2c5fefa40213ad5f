"""Every stored mobile number and e-mail address in its canonical spelling (``common.identifiers``),
the phone's keyed hash computed again.

Until now sign-up accepted a number typed in full-width or Arabic-Indic digits as it was typed, and
hashed it so: such an account could not be found by its ASCII spelling, and a second account could
be opened for a number that already had one. This rewrites each such row.

A row whose canonical spelling is already another account's is a collision: it is left as it is
and reported (a warning on the ``loanportal.migrations`` logger, which ``migrate`` prints), never
merged — which of the two accounts is the customer's is for an operator to decide. Reversing the
migration changes nothing: a canonical value is one the earlier code accepted too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, migrations, transaction
from django.db.models.functions import Lower

from common.identifiers import canonical_email, canonical_phone

logger = logging.getLogger("loanportal.migrations")


def _keyed_hash(value: str) -> str:
    """``common.pii.keyed_hash`` as it is today (kept here: app code may move)."""
    if not settings.PII_HASH_KEY:
        raise ImproperlyConfigured("PII_HASH_KEY is empty: look-up hashes cannot be computed.")
    return hmac.new(settings.PII_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def canonicalise_users(User) -> list[str]:
    """Rewrite the users whose phone or email is not canonical; return the collisions reported."""
    users = User._default_manager
    collisions: list[str] = []
    rewritten = 0
    for user in users.only("pk", "phone", "phone_hash", "email").order_by("pk").iterator(chunk_size=2000):
        fields: list[str] = []
        if user.phone:
            phone = canonical_phone(user.phone)
            phone_hash = _keyed_hash(phone)
            if (phone, phone_hash) != (user.phone, user.phone_hash):
                other = users.filter(phone_hash=phone_hash).exclude(pk=user.pk).values_list("pk", flat=True)
                if other.exists():
                    collisions.append(
                        f"user {user.pk}: its mobile number is user {other.first()}'s; left as it is"
                    )
                else:
                    user.phone, user.phone_hash = phone, phone_hash
                    fields += ["phone", "phone_hash"]
        if user.email:
            email = canonical_email(user.email)
            if email != user.email:
                # The same comparison as the unique constraint on Lower(email).
                other = (
                    users.alias(email_ci=Lower("email"))
                    .filter(email_ci=email.lower())
                    .exclude(pk=user.pk)
                    .values_list("pk", flat=True)
                )
                if other.exists():
                    collisions.append(
                        f"user {user.pk}: its email address is user {other.first()}'s; left as it is"
                    )
                else:
                    user.email = email
                    fields.append("email")
        if not fields:
            continue
        try:
            with transaction.atomic():  # a savepoint: a clash the checks above missed is reported too
                user.save(update_fields=fields)
        except IntegrityError:
            collisions.append(f"user {user.pk}: its canonical phone or email belongs to another account")
            continue
        rewritten += 1
    for collision in collisions:
        logger.warning("Canonical identifiers: %s", collision)
    if rewritten or collisions:
        logger.warning(
            "Canonical identifiers: %d user(s) rewritten, %d collision(s) left as they were",
            rewritten,
            len(collisions),
        )
    return collisions


def canonicalise(apps, schema_editor) -> None:
    canonicalise_users(apps.get_model("accounts", "User"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_announce_changes"),
    ]

    operations = [
        migrations.RunPython(canonicalise, migrations.RunPython.noop, elidable=True),
    ]
