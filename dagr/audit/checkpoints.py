"""Signed checkpoints of the audit chains, kept outside the audit tables (``CheckpointStore``; a
file by default): every chain head, signed with Ed25519, each naming the digest of the previous
checkpoint. See ``dagr.audit.integrity``."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .chains import (
    CHECKPOINT_FORMAT,
    GENESIS,
    _public_key_b64,
    public_key_pem,
    signing_key,
)
from .models import AccessEntry, AccessSegment, AdminHead


class CheckpointStore(Protocol):
    """Where signed checkpoints are kept, outside the audit tables. ``append`` adds one (it gets
    the previous one first, under the store's lock, to chain to it); ``all`` returns them oldest
    first."""

    def append(self, build: Any) -> dict[str, Any] | None: ...

    def all(self) -> list[dict[str, Any]]: ...


class FileCheckpointStore:
    """JSON lines, appended under an exclusive ``flock`` and flushed to disk (``fsync``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            return [orjson.loads(line) for line in handle if line.strip()]

    def last(self) -> dict[str, Any] | None:
        items = self.all()
        return items[-1] if items else None

    def append(self, build: Any) -> dict[str, Any] | None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                lines = [line for line in handle.read().splitlines() if line.strip()]
                previous = orjson.loads(lines[-1]) if lines else None
                item = build(previous)
                if item is not None:
                    handle.write(orjson.dumps(item) + b"\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                return item if item is not None else previous
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def checkpoint_store() -> CheckpointStore:
    """The configured store: ``settings.AUDIT_CHECKPOINT_STORE`` (a dotted class taking the
    path), a ``FileCheckpointStore`` on ``AUDIT_CHECKPOINT_PATH`` by default."""
    cls = import_string(
        getattr(settings, "AUDIT_CHECKPOINT_STORE", "dagr.audit.integrity.FileCheckpointStore")
    )
    return cls(settings.AUDIT_CHECKPOINT_PATH)


def _canonical(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def checkpoint_digest(item: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(item)).hexdigest()


def _sign(body: dict[str, Any]) -> dict[str, Any]:
    signature = signing_key().sign(_canonical(body))
    return dict(body, signature=base64.b64encode(signature).decode())


def signature_valid(item: dict[str, Any], key: Ed25519PublicKey | None = None) -> bool:
    body = {k: v for k, v in item.items() if k != "signature"}
    try:
        signature = base64.b64decode(item.get("signature") or "", validate=True)
        (key or signing_key().public_key()).verify(signature, _canonical(body))
    except (InvalidSignature, ValueError):
        return False
    return True


def chain_heads() -> list[dict[str, Any]]:
    """Every chain head in the database: access segments and the admin chain. ``count`` is the
    number of entries (a chain has no gaps, so it equals the last sequence number)."""
    with transaction.atomic():
        rows = [
            {"kind": "access", "segment": s, "last_seq": n, "last_digest": h, "count": n}
            for s, n, h in AccessSegment.objects.order_by("segment").values_list(
                "segment", "last_seq", "last_hash"
            )
        ]
        admin = AdminHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()
    if admin and admin[0]:
        rows.append(
            {"kind": "admin", "segment": "admin", "last_seq": admin[0], "last_digest": admin[1]}
            | {"count": admin[0]}
        )
    return rows


def _legacy_segments() -> list[str]:
    return sorted(
        AccessEntry.objects.filter(version=1)
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )


def checkpoint_write(*, only_if_changed: bool = False) -> dict[str, Any] | None:
    """Record a signed checkpoint of every chain head; returns it (with ``only_if_changed``,
    ``None`` when nothing changed since the last one)."""
    heads = chain_heads()
    key = signing_key()
    written: list[dict[str, Any]] = []

    def build(previous: dict[str, Any] | None) -> dict[str, Any] | None:
        if only_if_changed and previous is not None and previous.get("heads") == heads:
            return None
        legacy = previous.get("legacy_access_segments") if previous else None
        body = {
            "format": CHECKPOINT_FORMAT,
            "number": (previous or {}).get("number", 0) + 1,
            "at": timezone.now().astimezone(UTC).isoformat(timespec="seconds"),
            "prev": checkpoint_digest(previous) if previous else GENESIS,
            "heads": heads,
            # Segments written with the unkeyed version 1 scheme, fixed at the first checkpoint:
            # a version 1 entry anywhere else is a forgery.
            "legacy_access_segments": legacy if legacy is not None else _legacy_segments(),
            "public_key": _public_key_b64(key.public_key()),
        }
        item = _sign(body)
        written.append(item)
        return item

    checkpoint_store().append(build)
    return written[0] if written else None


def checkpoint_export() -> dict[str, Any] | None:
    """The latest checkpoint with the public key that checks it, for an outsider to keep."""
    items = checkpoint_store().all()
    if not items:
        return None
    return {
        "format": "dagr-audit-checkpoint-export/1",
        "checkpoint": items[-1],
        "public_key_pem": public_key_pem(),
    }
