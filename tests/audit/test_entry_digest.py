"""The chain digest's bytes are fixed: an access entry's keyed digest and its column values for
given inputs are pinned here as computed by the code that wrote the existing chains (main at
4ec7e90), so that a faster way of building them cannot change what ``dagr audit verify`` accepts
for entries already written."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import override_settings

from dagr.audit import access
from dagr.audit.chains import access_digest, at_text

AT = datetime(2026, 12, 7, 23, 30, 1, 123456, tzinfo=UTC)
ENTRY = {
    "operation": "record.get", "outcome": "ok", "dataset_id": 3, "dataset_code": "persons",
    "institution_id": 7, "connection_id": 9, "actor_label": "client-1", "grant_id": 11,
    "permission_number": "P-1", "purpose": "checking",
    "identifiers": ["301227-18203", "30122718203", "32000001234"], "records_returned": 1,
    "fields": ["first_name", "address.code"], "status_code": 200, "duration_ms": 1.23456,
    "request_id": "req-1",
}  # fmt: skip
SUBJECTS = (
    b"\x03o\xfb\xb0\x00\xafGY\xf1i2\xe1\x02\xf2\xf5x.9U\xbf\x1d\xb2\x94\xbf\xe4\x13|=\xbbF\xbcY"
)
# (at, digest) — the second: a whole second, which Django's SQLite adapter writes without
# the fraction while the digest always has six digits
CASES = [
    (AT, "a827541a43a53f4bfdb799f3008a3a880414f8261b087c5ae1e89f5a7ab07c4c"),
    (AT.replace(microsecond=0), "93ef53479edfaf8edefcf6209c275671d6a0e55f2ac0493cd9c53eeda0a45b13"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("at", "digest"), CASES)
@override_settings(AUDIT_CHAIN_KEY="chain-key", AUDIT_SUBJECT_KEY="subject-key")
def test_entry_digest_and_values_match_the_existing_chains(at: datetime, digest: str) -> None:
    values, subjects = access._entry_values(at=at, **ENTRY)
    entry_hash, params = access._entry_params(values, 41, "ab" * 32, "segment-1", subjects)
    assert entry_hash == digest
    assert params[1:] == [
        "req-1", 7, 9, None, "client-1", 3, "persons", 11, "P-1", "record.get", "checking", 2, 1,
        '["first_name","address.code"]', "ok", 200, 1.235, "segment-1", 42, 2, "ab" * 32, digest,
        SUBJECTS,
    ]  # fmt: skip
    assert params[0] == connection.ops.adapt_datetimefield_value(at)


@pytest.mark.django_db
def test_a_changed_key_is_used_at_once() -> None:
    """The keyed HMAC states are kept per setting (``chains.keyed_setting``) until Django
    reports the setting changed — an entry written after a key change is under the new key."""
    with override_settings(AUDIT_CHAIN_KEY="chain-key", AUDIT_SUBJECT_KEY="subject-key"):
        values, subjects = access._entry_values(at=AT, **ENTRY)
        first, _ = access._entry_params(values, 41, "ab" * 32, "segment-1", subjects)
    with override_settings(AUDIT_CHAIN_KEY="other-chain-key", AUDIT_SUBJECT_KEY="other-key"):
        values, subjects = access._entry_values(at=AT, **ENTRY)
        second, params = access._entry_params(values, 41, "ab" * 32, "segment-1", subjects)
        assert subjects == sorted(
            hmac.digest(b"other-key", form, "sha256")[:16]
            for form in (b"30122718203", b"32000001234")
        )
        content = [at_text(AT), *params[1:21]]
        content[14] = ["first_name", "address.code"]
        assert second == access_digest(b"other-chain-key", "ab" * 32, content, subjects)
    assert first == CASES[0][1]
    assert second != first
