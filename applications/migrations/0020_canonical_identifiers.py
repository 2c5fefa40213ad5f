"""Every applicant's ID card number and mobile number in its canonical spelling
(``common.identifiers``), their keyed hashes computed again; blacklist entries typed the same way
re-keyed.

Until now the apply form accepted numbers typed in full-width or Arabic-Indic digits as they were
typed, and hashed them so: such an applicant was not matched against the blacklist, and staff could
not find the file by the ASCII number. This rewrites each such applicant.

Reported, as warnings on the ``loanportal.migrations`` logger (which ``migrate`` prints):

- an application whose applicant's canonical ID number is blacklisted (by its reference): a
  pre-check before this migration did not see it, so a person needs to look at the file;
- a blacklist entry that would duplicate another once re-keyed (a collision): left as it is.

Applicants' hashes are not unique (one person, several applications), so two applicants sharing a
number after this is no collision and nothing is merged. A blacklist entry holds only a hash: it can
be re-keyed only when an applicant's stored spelling shows what was typed; an entry typed with
non-ASCII digits for a person who never applied stays unreachable and must be entered again.
Reversing the migration changes nothing: a canonical value is one the earlier code accepted too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import migrations

from common.identifiers import canonical_id_number, canonical_phone

logger = logging.getLogger("loanportal.migrations")


def _keyed_hash(value: str) -> str:
    """``common.pii.keyed_hash`` as it is today (kept here: app code may move)."""
    if not settings.PII_HASH_KEY:
        raise ImproperlyConfigured("PII_HASH_KEY is empty: look-up hashes cannot be computed.")
    return hmac.new(settings.PII_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def _existing(entries, hashes: set[str]) -> set[str]:
    """Which of these hashes are blacklisted, a bounded number of parameters at a time."""
    ordered, found = sorted(hashes), set()
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        found.update(entries.filter(id_number_hash__in=chunk).values_list("id_number_hash", flat=True))
    return found


def canonicalise_applicants(Applicant, BlacklistEntry) -> list[str]:
    """Rewrite the applicants whose ID or phone number is not canonical, re-key the blacklist
    entries typed like them, and return what was reported."""
    rewritten = 0
    id_changes: list[tuple[int, int, str, str]] = []  # applicant, application, old hash, new hash
    applicants = Applicant._default_manager.only(
        "pk", "application_id", "id_number", "id_number_hash", "phone", "phone_hash"
    )
    for applicant in applicants.order_by("pk").iterator(chunk_size=2000):
        fields: list[str] = []
        id_number = canonical_id_number(applicant.id_number)
        id_number_hash = _keyed_hash(id_number)
        if (id_number, id_number_hash) != (applicant.id_number, applicant.id_number_hash):
            if id_number_hash != applicant.id_number_hash:
                id_changes.append(
                    (applicant.pk, applicant.application_id, applicant.id_number_hash, id_number_hash)
                )
            applicant.id_number, applicant.id_number_hash = id_number, id_number_hash
            fields += ["id_number", "id_number_hash"]
        phone = canonical_phone(applicant.phone)
        phone_hash = _keyed_hash(phone)
        if (phone, phone_hash) != (applicant.phone, applicant.phone_hash):
            applicant.phone, applicant.phone_hash = phone, phone_hash
            fields += ["phone", "phone_hash"]
        if fields:
            applicant.save(update_fields=fields)
            rewritten += 1

    entries = BlacklistEntry._default_manager
    blacklisted = _existing(entries, {old for *_, old, _ in id_changes} | {new for *_, new in id_changes})
    # Blacklisted under the canonical spelling only: the pre-check compared the other one.
    missed = [
        application_id
        for _, application_id, old, new in id_changes
        if new in blacklisted and old not in blacklisted
    ]
    LoanApplication = Applicant._meta.get_field("application").related_model
    references = dict(LoanApplication._default_manager.filter(pk__in=missed).values_list("pk", "reference"))
    reports = [
        f"application {references[application_id]}: the applicant's ID number is blacklisted, "
        "which a pre-check before this migration did not see (it was typed in other digits)"
        for application_id in missed
    ]
    rekeyed = 0
    for old, new in {old: new for *_, old, new in id_changes if old in blacklisted}.items():
        entry = entries.get(id_number_hash=old)
        if new in blacklisted:
            reports.append(f"blacklist entry {entry.pk} duplicates another once canonical; left as it is")
            continue
        entry.id_number_hash = new
        entry.save(update_fields=["id_number_hash"])
        blacklisted.add(new)
        rekeyed += 1

    for report in reports:
        logger.warning("Canonical identifiers: %s", report)
    if rewritten or reports:
        logger.warning(
            "Canonical identifiers: %d applicant(s) rewritten, %d blacklist entries re-keyed, %d report(s)",
            rewritten,
            rekeyed,
            len(reports),
        )
    return reports


def canonicalise(apps, schema_editor) -> None:
    canonicalise_applicants(
        apps.get_model("applications", "Applicant"), apps.get_model("applications", "BlacklistEntry")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0019_announce_changes"),
    ]

    operations = [
        migrations.RunPython(canonicalise, migrations.RunPython.noop, elidable=True),
    ]
