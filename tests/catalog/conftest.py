from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Services and the schema speak the active language; outside a request the tests read the
    English source texts (pages set their language per request, and one test checks Latvian)."""
    with translation.override("en"):
        yield
