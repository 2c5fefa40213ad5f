"""Writes of the API app: keys (a dealership's or a partner's: create, revoke, the once-a-minute
last-used time), the dealership's API user, and the purge of idempotency records."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Role
from applications.choices import PartnerStepKind
from applications.models import Dealer

from .models import IDEMPOTENCY_LIFETIME, ApiKey, DealerApiUser, IdempotencyRecord, Scope

if TYPE_CHECKING:
    from accounts.models import User

KEY_PREFIX = "lp"
PREFIX_BYTES = 6  # 8 URL-safe characters: tells keys apart, shown in the admin
SECRET_BYTES = 32
# The last-used time moves on at most this often: a busy key is not a write per request.
TOUCH_EVERY = dt.timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    """SHA-256 of the secret part. The secret is 32 random bytes, so no salt or slow hash is
    needed (nothing to guess); a keyed hash would add a key to rotate and nothing else."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    plaintext: str  # shown once, never stored


def dealer_api_user(*, dealer: Dealer) -> User:
    """The dealership's API user (``models.DealerApiUser``), created with its first key: in the
    dealer role and the dealership's staff, active (Django grants an inactive user no permission)
    but with no usable password and no phone or email, so nobody can sign in as it."""
    link = DealerApiUser.objects.select_related("user").filter(dealer=dealer).first()
    if link is not None:
        return link.user
    users = get_user_model()
    with transaction.atomic():
        user = users(username=f"api.{dealer.code}.{secrets.token_hex(3)}", first_name=f"API · {dealer.name}")
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=Role.DEALER))
        dealer.staff.add(user)
        try:
            with transaction.atomic():
                DealerApiUser.objects.create(dealer=dealer, user=user)
        except IntegrityError:  # another manager's first key at the same moment
            transaction.set_rollback(True)
    link = DealerApiUser.objects.select_related("user").get(dealer=dealer)
    return link.user


def _key_make(**holder: Any) -> NewKey:
    prefix = secrets.token_urlsafe(PREFIX_BYTES).replace("_", "x").replace("-", "y")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    api_key = ApiKey.objects.create(prefix=prefix, secret_hash=secret_hash(secret), **holder)
    return NewKey(api_key, f"{KEY_PREFIX}_{prefix}_{secret}")


def api_key_create(*, dealer: Dealer, name: str, scope: str, created_by: User) -> NewKey:
    """A new key for ``dealer``: ``lp_<prefix>_<secret>``. The plaintext is returned once."""
    if scope not in Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    actor = dealer_api_user(dealer=dealer)
    return _key_make(dealer=dealer, name=name, scope=scope, actor=actor, created_by=created_by)


def partner_key_create(
    *, partner_name: str, step_kinds: list[str], name: str, scope: str, created_by: User
) -> NewKey:
    """A new key for a partner's system (the credit bureau, the bank…) that reports the steps of
    ``step_kinds`` and nothing else; it has no dealership and no user. Returned once, as
    ``api_key_create``'s."""
    if scope not in Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    partner_name = partner_name.strip()
    kinds = sorted(set(step_kinds))
    if not partner_name or not kinds or not set(kinds) <= set(PartnerStepKind.values):
        raise ValueError(f"a partner's key needs a name and known step kinds, not {step_kinds!r}")
    return _key_make(
        partner_name=partner_name, step_kinds=kinds, name=name, scope=scope, created_by=created_by
    )


def api_key_revoke(*, api_key: ApiKey, now: dt.datetime | None = None) -> bool:
    """Revoke the key from now on; False when it was revoked already (its time stays)."""
    now = now or timezone.now()
    changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    if changed:
        api_key.revoked_at = now
    return bool(changed)


def split_key(presented: str) -> tuple[str, str] | None:
    """(prefix, secret) of a presented key, or None when it cannot be one of ours."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def api_key_authenticate(*, presented: str, now: dt.datetime | None = None) -> ApiKey | None:
    """The active key ``presented`` names, with its dealer and user (none for a partner's), or None. One query, plus
    the last-used update at most once a minute per key. The hash is compared in constant time."""
    parts = split_key(presented)
    if parts is None:
        return None
    prefix, secret = parts
    api_key = ApiKey.objects.select_related("dealer", "actor").filter(prefix=prefix).first()
    if api_key is None:
        # The same work as for a real key, so the answer's timing does not tell prefixes apart.
        hmac.compare_digest(secret_hash(secret), "0" * 64)
        return None
    if not hmac.compare_digest(secret_hash(secret), api_key.secret_hash) or not api_key.is_active:
        return None
    key_touch(api_key=api_key, now=now)
    return api_key


def key_touch(*, api_key: ApiKey, now: dt.datetime | None = None) -> None:
    """Record that the key was used, when its last-used time is a minute old or more. The
    conditional UPDATE keeps concurrent requests from writing it more than once."""
    now = now or timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < TOUCH_EVERY:
        return
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_EVERY), pk=api_key.pk
    ).update(last_used_at=now)
    api_key.last_used_at = now


def idempotency_records_purge(*, now: dt.datetime | None = None) -> int:
    """Forget the answers kept for retries once they are a day old (safe to run twice)."""
    now = now or timezone.now()
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lte=now - IDEMPOTENCY_LIFETIME).delete()
    return deleted
