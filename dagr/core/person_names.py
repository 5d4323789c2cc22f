"""Latvian first and last names split by gender (from Faker's ``lv_LV`` provider). Shared by the
demo data generators and the anonymisation engine's name faker, which may not import the demo."""

from __future__ import annotations

from faker.providers.person.lv_LV import Provider as _LvPersons

FIRST_NAMES_MALE: tuple[str, ...] = tuple(_LvPersons.first_names_male)
FIRST_NAMES_FEMALE: tuple[str, ...] = tuple(_LvPersons.first_names_female)
# Latvian surnames have gender forms (Bērziņš / Bērziņa); a few (Liepa, Roze) are the same for both.
LAST_NAMES_MALE: tuple[str, ...] = tuple(_LvPersons.last_names_male) + tuple(
    _LvPersons.last_names_nonbinary
)
LAST_NAMES_FEMALE: tuple[str, ...] = tuple(_LvPersons.last_names_female) + tuple(
    _LvPersons.last_names_nonbinary
)
