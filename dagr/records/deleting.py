"""Deleting records by key: soft deletes with history and change log, serialised with the loads of
the same dataset (``dagr.records.writer``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.catalog.schema import MESSAGES
from dagr.core.actors import Actor
from dagr.core.errors import ValidationError

from .loading import MAX_ERRORS, shown
from .loads import actor_fields, dataset_load_check, load_finish
from .models import Load
from .writer import BATCH_SIZE, Writer, bulk_session, lock_dataset


def records_delete(
    *,
    actor: Actor,
    dataset: Dataset,
    keys: Iterable[str],
    source: str = Load.Source.API,
    details: dict[str, Any] | None = None,
) -> Load:
    """Soft-delete the records with ``keys``: each live one gets a new version marked deleted, its
    previous version goes to the history, its identifiers leave the lookup index, and a
    ``deleted`` change entry is appended. Unknown or already deleted keys count as unchanged.
    Serialised with loads of the same dataset (see the module docstring)."""
    if source not in Load.Source.values:
        raise ValidationError(_("Unknown load source."), code="invalid_source")
    dataset_load_check(actor=actor, dataset=dataset)
    with bulk_session(), transaction.atomic():
        lock_dataset(dataset)
        load = Load.objects.create(
            dataset=dataset,
            mode=Load.Mode.DELETE,
            source=source,
            details=details or {},
            started_at=timezone.now(),
            **actor_fields(actor),
        )
        writer = Writer(dataset=dataset, load=load, compiled=None)
        batch: list[str] = []
        errors: list[dict[str, Any]] = []
        for position, raw_key in enumerate(keys, 1):
            writer.counts.received += 1
            key = str(raw_key)
            if "\x00" in key:  # no record has it, and PostgreSQL cannot compare it
                if len(errors) < MAX_ERRORS:
                    errors.append(
                        {
                            "position": position,
                            "key": shown(key),
                            "field": "",
                            "code": "nul_character",
                            "message": str(MESSAGES["nul_character"]),
                        }
                    )
                continue
            if errors:
                continue  # keep checking, delete nothing more
            batch.append(key)
            if len(batch) >= BATCH_SIZE:
                writer.delete(list(dict.fromkeys(batch)))
                batch = []
        if errors:
            raise ValidationError(
                _("%(invalid)d of %(received)d keys are not valid; nothing was deleted.")
                % {"invalid": len(errors), "received": writer.counts.received},
                code="invalid_keys",
                errors=errors,
            )
        if batch:
            writer.delete(list(dict.fromkeys(batch)))
        return load_finish(load, writer.counts, actor, dataset)
