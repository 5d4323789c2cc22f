"""File sizes in Latvian take the right plural form (Django's own catalogue has them swapped)."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import filesizeformat
from django.utils import translation


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 baitu"), (1, "1 baits"), (21, "21 baits"), (2, "2 baiti"), (11, "11 baiti"),
     (138, "138 baiti")],
)  # fmt: skip
def test_latvian_bytes_plural(size, text):
    with translation.override("lv"):
        assert filesizeformat(size).replace("\xa0", " ") == text


def test_english_bytes_unchanged():
    with translation.override("en"):
        assert filesizeformat(138).replace("\xa0", " ") == "138 bytes"
