from collections.abc import Iterator
from typing import Any

import pytest

from tests.ckan.standin import Standin, serving

TOKEN = "ckan-token-7f3a9b1c2d4e5f60718293a4b5c6d7e8"


@pytest.fixture
def ckan(settings: Any) -> Iterator[Standin]:
    """The CKAN stand-in with organisation ``ur`` and an editor token of it; loopback allowed."""
    settings.DAGR_CKAN_ALLOW_PRIVATE = True
    settings.DAGR_CKAN_READ_TIMEOUT_S = 1.0
    with serving() as standin:
        standin.add_organization("ur", "Uzņēmumu reģistrs")
        standin.add_organization("other")
        standin.add_token(TOKEN, user="ur-editor", organizations=["ur"])
        yield standin
