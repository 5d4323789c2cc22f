from __future__ import annotations

from typing import Any

import pytest

from dagr.knowledge import services


@pytest.fixture
def shipped(db: Any) -> Any:
    """The shipped articles (migration 0003 loads them; loaded again in case a transactional
    test emptied the tables — the loader is idempotent)."""
    return services.articles_load_shipped()
