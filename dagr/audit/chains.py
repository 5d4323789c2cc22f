"""Keyed chains of the audit trails: the chain key, the checkpoint signing key and the digests
(version 2 HMAC-SHA256 over every column; version 1 kept to verify old entries). See
``dagr.audit.integrity`` for the whole scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

GENESIS = "0" * 64
VERSION = 2
CHECKPOINT_FORMAT = "dagr-audit-checkpoint/1"
VERIFIED_FORMAT = "dagr-audit-verified/1"

# Every column of an access entry, in digest order (``entry_hash``/``prev_hash``/``id`` aside:
# the previous digest is hashed separately, the id is the database's).
ACCESS_COLUMNS = (
    "at", "request_id", "institution_id", "connection_id", "user_id", "actor_label",
    "dataset_id", "dataset_code", "grant_id", "permission_number", "operation", "purpose",
    "identifiers_asked", "records_returned", "fields", "outcome", "status_code", "duration_ms",
    "segment", "segment_seq", "version",
)  # fmt: skip
ADMIN_COLUMNS = (
    "at", "action", "actor_id", "actor_label", "institution_id", "target_type", "target_id",
    "target_label", "changes", "request_id", "ip_address", "seq", "version",
)  # fmt: skip
# The version 1 access scheme (kept to verify old entries).
V1_FIELDS = (
    "at", "request_id", "institution_id", "connection_id", "user_id", "actor_label",
    "dataset_id", "dataset_code", "grant_id", "permission_number", "operation", "purpose",
    "identifiers_asked", "records_returned", "fields", "outcome", "status_code",
    "segment", "segment_seq",
)  # fmt: skip


# --- keys --------------------------------------------------------------------------------------


def chain_key() -> bytes:
    return settings.AUDIT_CHAIN_KEY.encode()


_keyed: dict[bytes, hmac.HMAC] = {}


def keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 with ``key`` already absorbed, to be ``copy()``-ed per message (never updated
    itself): a copy skips preparing the key's pads, ~25 % of a short message's HMAC — and the
    audit computes two per data request (its subject, its chain digest) and thousands per
    batch lookup."""
    base = _keyed.get(key)
    if base is None:
        if len(_keyed) > 16:  # keys change only in tests (override_settings)
            _keyed.clear()
        base = _keyed[key] = hmac.new(key, digestmod="sha256")
    return base


_configured: dict[str, hmac.HMAC] = {}


def keyed_setting(name: str) -> hmac.HMAC:
    """``keyed`` for the key in setting ``name`` (``AUDIT_CHAIN_KEY``, ``AUDIT_SUBJECT_KEY``), kept
    until Django reports that setting changed: each read through ``settings`` (a lazy object)
    costs about a microsecond, twice per data request."""
    base = _configured.get(name)
    if base is None:
        base = _configured[name] = keyed(getattr(settings, name).encode())
    return base


@receiver(setting_changed)
def _key_changed(*, setting: str, **kwargs: Any) -> None:
    _configured.pop(setting, None)


def signing_key() -> Ed25519PrivateKey:
    return _signing_key(settings.AUDIT_SIGNING_KEY, str(settings.AUDIT_SIGNING_KEY_PATH))


@lru_cache(maxsize=4)
def _signing_key(pem: str, path: str) -> Ed25519PrivateKey:
    if pem:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    else:
        file = Path(path)
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            generated = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(generated)
            except FileExistsError:  # another process generated it first
                pass
        key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the audit signing key must be an Ed25519 key")
    return key


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


# --- digests -----------------------------------------------------------------------------------


def at_text(value: Any) -> str:
    """A time as the digest sees it: UTC, ``YYYY-MM-DDTHH:MM:SS.ffffff`` (from an aware datetime,
    or from SQLite's stored text)."""
    if isinstance(value, str):
        if len(value) == 26:  # SQLite's "YYYY-MM-DD HH:MM:SS.ffffff" (UTC)
            return value[:10] + "T" + value[11:]
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def access_digest(
    key: bytes | hmac.HMAC, prev: str, content: list[Any], subjects: list[bytes]
) -> str:
    """``key``: the chain key, or its ``keyed`` state; ``content``: the values of
    ``ACCESS_COLUMNS`` (``at`` as ``at_text``, ``duration_ms`` a float); ``subjects``: the
    sorted 16-byte subject hashes."""
    state = (key if isinstance(key, hmac.HMAC) else keyed(key)).copy()
    state.update(b"2|%s|%s|%s" % (prev.encode(), orjson.dumps(content), b"".join(subjects)))
    return state.hexdigest()


def access_digest_v1(prev: str, values: dict[str, Any]) -> str:
    content = {name: values[name] for name in V1_FIELDS}
    content["at"] = at_text(content["at"]) + "+00:00"
    message = prev.encode() + b"|" + orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(message).hexdigest()


def admin_digest(key: bytes, prev: str, values: dict[str, Any]) -> str:
    content = [values[name] for name in ADMIN_COLUMNS]
    content[0] = at_text(content[0])
    message = b"admin2|%s|%s" % (
        prev.encode(),
        orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS),
    )
    return hmac.digest(key, message, "sha256").hex()
