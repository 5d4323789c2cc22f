from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Services and the schema speak the active language; outside a request the tests read the
    English source texts (pages set their language per request, and one test checks Latvian)."""
    with translation.override("en"):
        yield


from typing import Any  # noqa: E402

from dagr.opendata import vocabularies as v  # noqa: E402

EU = v.EU


def complete_values(**over: Any) -> dict[str, Any]:
    """Metadata values that fill every DCAT-AP field DAGR asks for."""
    import datetime

    values: dict[str, Any] = {
        "publisher_name_lv": "Paraugu iestāde",
        "publisher_name_en": "Example institution",
        "publisher_url": "https://iestade.example.lv/",
        "contact_name_lv": "Datu atbalsts",
        "contact_name_en": "Data support",
        "contact_email": "dati@iestade.example.lv",
        "contact_url": "",
        "licence": f"{EU}licence/CC_BY_4_0",
        "access_rights": f"{EU}access-right/RESTRICTED",
        "themes": [f"{EU}data-theme/SOCI"],
        "frequency": f"{EU}frequency/DAILY",
        "spatial": [f"{EU}country/LVA"],
        "conforms_to": [],
        "languages": [f"{EU}language/LAV"],
        "keywords_lv": ["iedzīvotāji"],
        "keywords_en": ["population"],
        "temporal_start": datetime.date(2020, 1, 1),
        "temporal_end": None,
        "rights_lv": "Izmantošana saskaņā ar piekļuves atļauju.",
        "rights_en": "Use under an access grant.",
        "distribution_status": f"{EU}distribution-status/COMPLETED",
    }
    values.update(over)
    return values
