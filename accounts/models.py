from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from common.pii import EncryptedField, keyed_hash, mask_phone

# Han characters (the CJK Unified Ideographs, with extension A and the compatibility block).
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class User(AbstractUser):
    """A person who signs in: customer, dealer staff or back-office staff (roles are groups).

    The mobile number is personal data: encrypted, with a keyed hash for sign-in look-up.
    """

    email = models.EmailField(_("email address"), blank=True)
    phone = EncryptedField(_("mobile number"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Sign-in by email must find one account: unique regardless of case, when given.
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="unique_email_ci"),
        ]
        indexes = [
            # The few staff among a million customers, in name order (the queue's assignee filter,
            # the reassign forms): without it every such list scans the whole user table.
            models.Index(fields=["username"], condition=Q(is_staff=True), name="user_staff_username_idx"),
        ]

    def set_phone(self, phone: str) -> None:
        self.phone = phone
        self.phone_hash = keyed_hash(phone) if phone else None

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def get_full_name(self) -> str:
        """A Chinese name family name first, with no space (王芳); any other as Django writes it,
        given name first (Fang Wang)."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if _HAN.search(first + last):
            return f"{last}{first}"
        return super().get_full_name()

    def display_name(self) -> str:
        return self.get_full_name() or self.username
