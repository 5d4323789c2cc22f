"""Shared helpers of the record set tests: a world (``tests.retrieval.factories``: a company
dataset, a recipient with a grant ``ATL-1`` under two conditions) and record sets over it."""

from __future__ import annotations

import copy
from typing import Any

from dagr.catalog.models import SchemaVersion
from dagr.monitoring import services
from dagr.monitoring.models import RecordSet
from dagr.retrieval.datasets import dataset_cache
from tests.retrieval.factories import SCHEMA, World


def make_set(w: World, **overrides: Any) -> RecordSet:
    values: dict[str, Any] = {
        "actor": w.recipient_rep,
        "institution_id": w.recipient.pk,
        "dataset_code": w.dataset.code,
        "permission_number": "ATL-1",
        "name": "Mani uzņēmumi",
        "identifier_field": "registration_number",
    }
    values.update(overrides)
    return services.record_set_create(**values)


def watch(w: World, record_set: RecordSet, *values: str) -> None:
    services.record_set_identifiers_change(
        actor=w.recipient_rep, record_set=record_set, add=list(values)
    )


def use_personal_codes(w: World) -> None:
    """A second schema version in which the board members' codes are personal codes."""
    definition = copy.deepcopy(SCHEMA)
    board = next(f for f in definition["fields"] if f["name"] == "board_members")
    board["fields"][0]["identifier"] = "personal_code"
    definition["fields"][0]["identifier"] = "company_code"
    schema = SchemaVersion.objects.create(dataset=w.dataset, number=2, definition=definition)
    w.dataset.schema = schema
    w.dataset.save(update_fields=["schema"])
    dataset_cache.invalidate()
