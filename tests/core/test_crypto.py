from __future__ import annotations

import pytest

from dagr.core import crypto


def test_round_trip_and_tokens_differ(settings, tmp_path):
    settings.DAGR_ENCRYPTION_KEY = "a-long-random-test-key-0123456789abcdef"
    one, two = crypto.encrypt("whsec_secret"), crypto.encrypt("whsec_secret")
    assert one != two  # random IV
    assert "whsec_secret" not in one
    assert crypto.decrypt(one) == crypto.decrypt(two) == "whsec_secret"


def test_another_key_cannot_decrypt(settings):
    settings.DAGR_ENCRYPTION_KEY = "key-one-0123456789abcdef0123456789"
    token = crypto.encrypt("text")
    settings.DAGR_ENCRYPTION_KEY = "key-two-0123456789abcdef0123456789"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(token)
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt("not a token")


def test_key_rotation_keeps_old_tokens_readable(settings):
    settings.DAGR_ENCRYPTION_KEY = "old-key-0123456789abcdef0123456789"
    token = crypto.encrypt("text")
    settings.DAGR_ENCRYPTION_KEY = (
        "new-key-0123456789abcdef0123456789, old-key-0123456789abcdef0123456789"
    )
    assert crypto.decrypt(token) == "text"
    moved = crypto.reencrypt(token)
    settings.DAGR_ENCRYPTION_KEY = "new-key-0123456789abcdef0123456789"
    assert crypto.decrypt(moved) == "text"


def test_without_a_configured_key_one_is_generated_once_into_var(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGR_ENCRYPTION_KEY", raising=False)
    settings.DAGR_ENCRYPTION_KEY = ""
    settings.VAR_DIR = tmp_path
    token = crypto.encrypt("text")
    key_file = tmp_path / crypto.KEY_NAME
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = key_file.read_text()
    assert crypto.decrypt(token) == "text"
    assert key_file.read_text() == first
