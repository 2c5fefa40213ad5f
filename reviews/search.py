"""The queue's search without personal data in addresses: a reference goes in the URL (``?q=``),
anything else typed in the box (a mobile number, a part of one) never does.

The queue's search box posts (``admin/search.py``). A term shaped like a reference is sent back as
``?q=ABCDE23456``, as admin's own search would; any other term is kept in the staff member's
session under a random token, and the queue shows ``?find=<token>``: the browser's address, its
history, the server's and any proxy's access log see the token, which means nothing outside that
session, never the number nor its keyed hash. A mobile number is kept as its keyed hash (matched
like the stored ones, no number decrypted) with its masked form for the page to show; the term is
canonicalised first (``common.identifiers``), so a number typed in full-width or Arabic-Indic
digits finds what its ASCII spelling finds.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet

from applications.models import REFERENCE_ALPHABET, REFERENCE_LENGTH
from common.identifiers import PHONE_RE, canonical_phone, canonical_reference, canonical_text
from common.pii import keyed_hash, mask_phone

SESSION_KEY = "reviews_queue_searches"
KEPT = 20  # the session keeps a staff member's latest searches, so Back and a reload still work


def is_reference(term: str) -> bool:
    """A whole reference (with or without its dash, any case or digit script), with a letter in
    it: only such a term may be put in the address. All digits could be part of a phone number."""
    reference = canonical_reference(term)
    return (
        len(reference) == REFERENCE_LENGTH
        and all(character in REFERENCE_ALPHABET for character in reference)
        and not reference.isdigit()
    )


def search_remember(*, session: SessionBase, term: str) -> str:
    """Keep a term that may not go in the address (``is_reference`` false) in the session; the
    token that names it there."""
    phone = canonical_phone(term)
    spec: dict[str, str]
    if PHONE_RE.match(phone):
        spec = {"phone_hash": keyed_hash(phone), "masked": mask_phone(phone)}
    else:  # a part of a number, a mistyped reference: it finds what an exact reference would
        spec = {"reference": canonical_reference(term)}
    searches: dict[str, Any] = dict(session.get(SESSION_KEY, {}))
    token = secrets.token_urlsafe(12)
    searches[token] = spec
    session[SESSION_KEY] = dict(list(searches.items())[-KEPT:])
    return token


def search_recall(*, session: SessionBase, token: str) -> dict[str, str] | None:
    """The search a token names in this session, or None (another session's, or forgotten)."""
    return session.get(SESSION_KEY, {}).get(token)


def search_filter(queryset: QuerySet, spec: dict[str, str]) -> QuerySet:
    """The applications a remembered search finds: the applicant's mobile number through its keyed
    hash, else an exact reference."""
    if spec.get("phone_hash"):
        return queryset.filter(applicant__phone_hash=spec["phone_hash"])
    return queryset.filter(reference=spec.get("reference", ""))


def reference_filter(queryset: QuerySet, term: str) -> QuerySet:
    """The address's own search (``?q=``): a reference only. Anything else there (a number typed
    into the address by hand) finds nothing: numbers are searched through the box."""
    if not canonical_text(term):
        return queryset
    if not is_reference(term):
        return queryset.none()
    return queryset.filter(reference=canonical_reference(term))
