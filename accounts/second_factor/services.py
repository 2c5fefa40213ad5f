"""Enrol, verify and reset a staff member's second factor (django-otp's TOTP and static devices)."""

from __future__ import annotations

import logging
import re
import unicodedata

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..models import SecurityEvent, User
from ..sessions import user_sign_out_everywhere

logger = logging.getLogger("loanportal.security")

RECOVERY_CODE_COUNT = 10
_TOTP_CODE = re.compile(r"[0-9]{6}")
_SEPARATORS = re.compile(r"[\s\-]+")


def second_factor_required(user: User) -> bool:
    """Staff must verify a second factor in this deployment; customers never are asked."""
    return bool(settings.STAFF_REQUIRE_2FA and user.is_authenticated and user.is_staff)


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def _canonical_code(raw: str) -> str:
    # Typed on a phone or copied from a printout: full-width digits, spaces and dashes, any case.
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or "")).lower()


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The unconfirmed app the staff member is setting up: the same key until they confirm it."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def second_factor_enrol(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the app with a code it shows; returns the new recovery codes (to be shown once), or
    None when the code is wrong. Any earlier app and recovery codes of the account are removed."""
    code = _canonical_code(code)
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not _TOTP_CODE.fullmatch(code) or not device.verify_token(code):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=user).delete()
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=token) for token in codes)
    SecurityEvent.objects.create(
        at=timezone.now(), kind=SecurityEvent.Kind.SECOND_FACTOR_ENROLLED, actor=user, user=user
    )
    logger.info("second factor enrolled: user=%s", user.pk)
    return codes


def second_factor_verify(*, user: User, code: str) -> Device | None:
    """The device that accepts the code: six digits from the app, else one recovery code (used up).

    django-otp throttles each device: after a wrong code the next try must wait, doubling each
    time, so guessing is hopeless; ``verify_token`` locks the device row while it checks."""
    code = _canonical_code(code)
    if _TOTP_CODE.fullmatch(code):
        device: Device | None = confirmed_totp_device(user)
    else:
        device = StaticDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None or not code:
        return None
    return verify_token(user, device.persistent_id, code)


def second_factor_waiting(*, user: User) -> bool:
    """Too many wrong codes lately: django-otp refuses to check another one for a while."""
    devices = [*TOTPDevice.objects.devices_for_user(user, confirmed=True)]
    devices += [*StaticDevice.objects.devices_for_user(user, confirmed=True)]
    return any(not device.verify_is_allowed()[0] for device in devices)


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def second_factor_reset(*, user: User, actor: User) -> SecurityEvent:
    """A manager resets a colleague's second factor (a lost phone): the app and recovery codes are
    removed and every session of the colleague ends, so whoever holds one cannot enrol a device of
    their own; the next sign-in (with the password) enrols anew."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_sign_out_everywhere(user=user, actor=actor)
    event = SecurityEvent.objects.create(
        at=timezone.now(), kind=SecurityEvent.Kind.SECOND_FACTOR_RESET, actor=actor, user=user
    )
    logger.info("second factor reset: user=%s by=%s", user.pk, actor.pk)
    return event
