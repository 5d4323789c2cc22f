"""Datasets with schemas for the record store's tests (real rows, no catalogue service needed)."""

from __future__ import annotations

from typing import Any

from dagr.catalog.models import Dataset, SchemaVersion
from tests.factories import make_institution

COMPANY_SCHEMA: dict[str, Any] = {
    "key": "registration_number",
    "fields": [
        {
            "name": "registration_number",
            "title_lv": "Reģistrācijas numurs",
            "title_en": "Registration number",
            "type": "string",
            "required": True,
            "identifier": "company_code",
        },
        {"name": "name", "title_lv": "Nosaukums", "title_en": "Name", "type": "string"},
        {"name": "employees", "title_lv": "Darbinieki", "title_en": "Employees", "type": "integer"},
        {
            "name": "address_code",
            "title_lv": "Adreses kods",
            "title_en": "Address code",
            "type": "string",
            "identifier": "address_code",
        },
        {
            "name": "board_members",
            "title_lv": "Valde",
            "title_en": "Board",
            "type": "list",
            "fields": [
                {
                    "name": "personal_code",
                    "title_lv": "Personas kods",
                    "title_en": "Personal code",
                    "type": "string",
                    "required": True,
                    "identifier": "personal_code",
                },
                {"name": "role", "title_lv": "Amats", "title_en": "Role", "type": "string"},
            ],
        },
    ],
}

_counter = iter(range(1, 10**9))


def make_dataset(*, schema: dict[str, Any] | None = None, code: str | None = None) -> Dataset:
    provider = make_institution()
    dataset = Dataset.objects.create(
        provider=provider,
        code=code or f"test-ds-{next(_counter)}",
        title_lv="Testa datu kopa",
        title_en="Test dataset",
        status=Dataset.Status.PRODUCTION,
    )
    version = SchemaVersion.objects.create(
        dataset=dataset, number=1, definition=schema or COMPANY_SCHEMA
    )
    dataset.schema = version
    dataset.save(update_fields=["schema"])
    return dataset
