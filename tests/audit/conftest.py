"""Audit tests keep their checkpoint log and verified state in a temporary directory."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def audit_files(settings: Any, tmp_path: Any) -> Any:
    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "audit" / "checkpoints.jsonl"
    settings.AUDIT_VERIFIED_PATH = tmp_path / "audit" / "verified.json"
    return tmp_path / "audit"
