from __future__ import annotations

import pytest

from dagr.connectors.sources import register_source

from .memory import register


@pytest.fixture(autouse=True)
def _memory_source() -> None:
    register_source("memory", register)
