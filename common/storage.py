"""Uploaded files encrypted at rest whatever the storage backend: envelope encryption with the PII keys.

Every object is sealed with a data key of its own (AES-256-GCM, a random 96-bit nonce); the data
key, wrapped as a Fernet token under ``PII_ENCRYPTION_KEYS`` (``common.pii``), travels in the
object's header::

    b"LPENC1" | length of the wrapped key (2 bytes, big-endian) | wrapped key | nonce (12 bytes)
    | ciphertext and tag (the header up to the nonce is authenticated with it)

Why here and not only the bucket's server-side encryption: the same code protects the local files
of ``make run`` and a copied bucket or backup, and the keys that open the files are the ones that
open the ID numbers, never the storage provider's. Why a data key per object rather than Fernet over
the file: the ciphertext stays binary (Fernet's base64 would add a third to every object), and a
leaked data key opens one file. The whole object is read to be opened (GCM authenticates it as one
piece): documents are at most ``DOCUMENT_MAX_BYTES`` (10 MB).

A storage is told to seal by mixing ``EncryptedStorageMixin`` in front of a Django storage class:
``_save`` and ``_open`` are the two methods Django's "writing a custom storage system" names for
it, so the ``FileField``, ``default_storage`` and the download view read and write plaintext as
before. An object without the header (stored before encryption came) is served as it is;
``manage.py rotate_pii_keys`` seals it along with the re-wrapping of every other one.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage

from common.pii import decrypt_bytes, encrypt_bytes

MAGIC = b"LPENC1"
NONCE_BYTES = 12


class SealedObjectDamaged(ValueError):
    """The object has our header but does not authenticate: changed, cut short, or another key's."""


def seal(plaintext: bytes) -> bytes:
    key = AESGCM.generate_key(bit_length=256)
    wrapped = encrypt_bytes(key)
    header = MAGIC + len(wrapped).to_bytes(2, "big") + wrapped
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header)


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


def unseal(blob: bytes) -> bytes:
    """The plaintext of a sealed object; an object without the header is returned as it is."""
    if not is_sealed(blob):
        return blob
    start = len(MAGIC) + 2
    wrapped_length = int.from_bytes(blob[len(MAGIC) : start], "big")
    header = blob[: start + wrapped_length]
    nonce = blob[len(header) : len(header) + NONCE_BYTES]
    key = decrypt_bytes(header[start:])
    try:
        return AESGCM(key).decrypt(nonce, blob[len(header) + NONCE_BYTES :], header)
    except InvalidTag:
        raise SealedObjectDamaged(
            "A stored document does not authenticate: it was changed or cut short."
        ) from None


class EncryptedStorageMixin:
    """Seal on save, unseal on open, in front of any Django storage backend."""

    def _save(self, name: str, content: File) -> str:
        sealed = ContentFile(seal(b"".join(content.chunks())))
        return super()._save(name, sealed)  # type: ignore[misc]

    def _open(self, name: str, mode: str = "rb") -> File[Any]:
        if any(flag in mode for flag in "wa+"):
            # Writing through a file handle would store plaintext: write with save() instead.
            raise ValueError("Encrypted storage opens files for reading only; write with save().")
        with super()._open(name, "rb") as stored:  # type: ignore[misc]
            blob = stored.read()
        return ContentFile(unseal(blob), name=name)


class EncryptedFileSystemStorage(EncryptedStorageMixin, FileSystemStorage):
    """Local files under MEDIA_ROOT, sealed: ``make run``, the tests, a single-host installation."""
