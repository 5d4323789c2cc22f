"""Encryption of secrets that DAGR must be able to read again (e.g. webhook signing secrets),
at rest in the database: Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``).

The key is dedicated to this purpose: ``settings.DAGR_ENCRYPTION_KEY`` or the environment
variable ``DAGR_ENCRYPTION_KEY`` (production), else a key generated once into
``var/encryption_key`` (mode 0600, like ``dagr.core.secrets``). The configured value may be any
long random string; the Fernet key is derived from it with SHA-256. Several comma-separated
values allow key rotation: the first one encrypts, every one decrypts (``MultiFernet``), and
``reencrypt`` moves a token to the first key.

Losing the key makes the stored secrets unreadable (the owners then rotate them); it is not
derived from ``SECRET_KEY`` so that key can rotate independently.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from .secrets import local_secret_key

KEY_NAME = "encryption_key"
_CONTEXT = b"dagr.encryption.v1:"


class DecryptionFailed(ValueError):
    """The token is damaged or was encrypted under a key that is no longer configured."""


def _configured_keys() -> tuple[str, ...]:
    raw = getattr(settings, "DAGR_ENCRYPTION_KEY", "") or os.environ.get("DAGR_ENCRYPTION_KEY", "")
    if not raw:
        raw = local_secret_key(settings.VAR_DIR, KEY_NAME)
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not keys:
        raise ValueError("DAGR_ENCRYPTION_KEY is empty")
    return keys


def _derive(key: str) -> Fernet:
    digest = hashlib.sha256(_CONTEXT + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


@functools.lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_derive(key) for key in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(_configured_keys())


def encrypt(plaintext: str) -> str:
    """A Fernet token (URL-safe text) of ``plaintext`` under the current key."""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by ``encrypt`` under any configured key."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise DecryptionFailed("the encrypted value cannot be decrypted") from None


def reencrypt(token: str) -> str:
    """The same plaintext encrypted under the first (current) key, for key rotation."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, ValueError):
        raise DecryptionFailed("the encrypted value cannot be decrypted") from None
