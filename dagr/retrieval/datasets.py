"""The per-process cache of dataset definitions the retrieval hot path needs (id, status, parsed
schema, identifier paths), so resolving a dataset code costs no query.

The map is reloaded at most every ``REFRESH_S`` seconds, at once (on commit) in the process that
stored a new schema version, and early — at most every ``MISS_RELOAD_S`` seconds — when a code is
not found. A dataset promoted to production or retired in another process takes effect within
``REFRESH_S`` seconds everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from dagr.catalog import hooks
from dagr.catalog.models import Dataset
from dagr.catalog.schema import FieldDef, SchemaDef, parse_schema
from dagr.core.cache import RefreshedMap
from dagr.core.errors import NotFound, ValidationError

logger = logging.getLogger(__name__)

REFRESH_S = 10.0
MISS_RELOAD_S = 1.0


@dataclass(frozen=True)
class DatasetInfo:
    id: int
    code: str
    status: str
    schema: SchemaDef = field(compare=False)
    key: str
    identifier_paths: tuple[str, ...]  # key first, then the others in schema order
    fields: dict[str, FieldDef] = field(compare=False)  # every path → its definition
    open_sandbox: bool = False  # a sandbox dataset open to everyone (a test dataset)

    @property
    def is_production(self) -> bool:
        return self.status == "production"

    @property
    def is_served(self) -> bool:
        """Production datasets, and the sandbox ones open to everyone (sandbox grants)."""
        return self.is_production or (self.open_sandbox and self.status == "sandbox")


def dataset_info(dataset: Any, schema: SchemaDef, open_sandbox: bool = False) -> DatasetInfo:
    paths = [path for path, _kind in schema.identifier_paths()]
    ordered = [schema.key, *[p for p in paths if p != schema.key]]
    return DatasetInfo(
        id=dataset.pk,
        code=dataset.code,
        status=dataset.status,
        schema=schema,
        key=schema.key,
        identifier_paths=tuple(ordered),
        fields=dict(schema.field_paths()),
        open_sandbox=open_sandbox,
    )


def load_datasets() -> dict[str, DatasetInfo]:
    """Every dataset with a valid schema, by code (one query)."""
    out: dict[str, DatasetInfo] = {}
    open_ids = hooks.open_sandbox_ids()
    rows = (
        Dataset.objects.filter(schema__isnull=False)
        .select_related("schema")
        .only("id", "code", "status", "schema__definition")
    )
    for dataset in rows:
        try:
            schema = parse_schema(dataset.schema.definition)  # type: ignore[union-attr]  # schema__isnull=False
        except ValidationError:
            logger.warning("dataset %s has an invalid schema", dataset.code)
            continue
        out[dataset.code] = dataset_info(dataset, schema, dataset.pk in open_ids)
    return out


dataset_cache: RefreshedMap[str, DatasetInfo] = RefreshedMap(
    load_datasets, refresh_s=REFRESH_S, miss_reload_s=MISS_RELOAD_S
)


def schema_changed_listener(dataset: Any, old: Any, new: Any) -> None:
    transaction.on_commit(dataset_cache.invalidate)


def dataset_for_retrieval(code: str) -> DatasetInfo:
    """A production dataset (or a sandbox one open to everyone: a test dataset) by code;
    ``NotFound`` for an unknown or any other one."""
    info = dataset_cache.get(code) if isinstance(code, str) and len(code) <= 64 else None
    if info is None or not info.is_served:
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    return info
