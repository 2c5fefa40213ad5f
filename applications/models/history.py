"""The history: one row per event, chained by SHA-256 (the timeline, the audit trail, the SLA data)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import EventKind, Stage

GENESIS_HASH = "0" * 64


def note_digest_of(salt: str, note: str) -> str:
    return hashlib.sha256(f"{salt}:{note}".encode()).hexdigest()


class StageEvent(models.Model):
    """One event in an application's history: the timeline, the audit trail and the SLA data.

    Rows are written once by ``applications.services`` and never updated or deleted. Each carries
    the hash of the event before it and its own hash over a canonical serialisation, so an edited,
    deleted or reordered event breaks the chain (``manage.py verify_history``).
    """

    application = models.ForeignKey(
        "applications.LoanApplication", on_delete=models.PROTECT, related_name="events"
    )
    sequence = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices, default=EventKind.TRANSITION)
    transition = models.CharField(_("action"), max_length=40, blank=True)
    from_stage = models.CharField(_("from"), max_length=30, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=30, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("time"))
    # A transition's record of when the stage it entered was due (the application's stage_due_at
    # at that moment), so reports can tell afterwards whether each stay ended within its limit.
    # Empty for other events, for stages without a limit, and for events written before 0012.
    due_at = models.DateTimeField(_("stage due"), null=True, blank=True)
    # A transition's record of the stay it ends: when the application entered the stage it leaves
    # (its stage_entered_at just before) and when that stage was due (its stage_due_at just
    # before). A stay is then one row: reports and the prediction read it without pairing events.
    # Empty for other events and for the first transition (out of no stage); filled by 0016 for
    # the transitions written before 0015 (see ``stay_from_chain`` for how those verify).
    stay_started_at = models.DateTimeField(_("stay began"), null=True, blank=True)
    stay_due_at = models.DateTimeField(_("stay was due"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    # The note is free text, where anyone may write a name or a number: since 0026 the hash covers
    # its salted digest (``seal_note``), never the note itself, so the retention pass can erase a
    # note (and its salt) and the chain still verifies. Empty on events without a note and on those
    # written before 0026, whose hash covers the note as it is.
    note_digest = models.CharField(max_length=64, blank=True, editable=False)
    note_salt = models.CharField(max_length=32, blank=True, editable=False)
    reason_code = models.CharField(_("reason"), max_length=40, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["application_id", "sequence"]
        verbose_name = _("history event")
        verbose_name_plural = _("history")
        constraints = [
            models.UniqueConstraint(fields=["application", "sequence"], name="one_event_per_sequence")
        ]
        indexes = [
            # A stay is its leaving transition: the SLA report (reports.selectors) and the delay
            # prediction (prediction.py) read the stays that ended in a stage between two times,
            # with every column they need, from this index alone (no table reads on PostgreSQL).
            models.Index(
                fields=["from_stage", "created_at", "stay_started_at", "stay_due_at", "application", "actor"],
                condition=models.Q(kind=EventKind.TRANSITION),
                name="event_stay_idx",
            ),
            # The stages each application entered, and when: the report's funnel and the decisions
            # behind its approval factors.
            models.Index(
                fields=["application", "to_stage", "created_at"],
                condition=models.Q(kind=EventKind.TRANSITION),
                name="event_entered_stage_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.from_stage} → {self.to_stage}"

    def canonical(self, reference: str, *, with_stay: bool = True) -> bytes:
        """The bytes the hash covers: every field but the hash itself, in a fixed order.

        ``with_stay=False`` leaves the stay out: the form the transitions written before 0015 were
        hashed in, before their stays were filled in (``history.stay_from_chain`` checks those)."""
        payload = {
            "application": reference,
            "sequence": self.sequence,
            "kind": self.kind,
            "transition": self.transition,
            "from": self.from_stage,
            "to": self.to_stage,
            "actor": self.actor_id,
            "at": self.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "reason": self.reason_code,
            "data": self.data,
            "prev": self.prev_hash,
        }
        # A sealed note (0026): its digest only, so erasing the note leaves the hash intact; before
        # 0026 (and when there is no note) the note itself.
        note_digest = getattr(self, "note_digest", "")
        if note_digest:
            payload["note_digest"] = note_digest
        else:
            payload["note"] = self.note
        # The due time joined the history in 0012: covered when present, left out when empty, so
        # the events written before it keep the hashes they were written with. (The demo's light
        # rows may not carry the attribute at all.)
        due_at = getattr(self, "due_at", None)
        if due_at is not None:
            payload["due"] = due_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        # The stay joined it in 0015, on the same terms.
        if with_stay:
            for key, value in (
                ("stay_started", getattr(self, "stay_started_at", None)),
                ("stay_due", getattr(self, "stay_due_at", None)),
            ):
                if value is not None:
                    payload[key] = value.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def seal_note(self) -> None:
        """Seal a non-empty note before the event is hashed: a random salt and SHA-256 of salt and
        note. The salt keeps a short note (a phone number) from being found by trying every value
        against the digest once the note is erased; the erasure removes both."""
        if self.note and not self.note_digest:
            self.note_salt = secrets.token_hex(16)
            self.note_digest = note_digest_of(self.note_salt, self.note)

    def note_holds(self) -> bool:
        """The stored note is the one sealed (or it was erased with its salt: the retention pass)."""
        if not self.note_digest:
            return True
        if not self.note_salt:
            return self.note == ""
        return note_digest_of(self.note_salt, self.note) == self.note_digest

    def compute_hash(self, reference: str, *, with_stay: bool = True) -> str:
        return hashlib.sha256(self.canonical(reference, with_stay=with_stay)).hexdigest()
