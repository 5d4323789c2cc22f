"""Reads of connectors: the list an actor sees, one connector, its runs, a run's log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.core.actors import Visitor
from dagr.core.errors import NotFound
from dagr.permissions import rules

from .models import Connector, Run, RunLogLine


def connectors_visible(actor: Visitor) -> QuerySet[Connector]:
    """Connectors of the actor's institutions (administrators: all), with their last run's
    status annotated as ``last_status``."""
    qs = Connector.objects.select_related("dataset", "provider", "state")
    ids = rules.connector_institution_ids(actor)
    if ids is not None:
        qs = qs.filter(provider_id__in=ids)
    last = Run.objects.filter(connector=OuterRef("pk")).order_by("-started_at", "-id")
    return qs.annotate(
        last_status=Subquery(last.values("status")[:1]),
        last_started=Subquery(last.values("started_at")[:1]),
    )


def connectors_failing(actor: Visitor) -> list[Connector]:
    """Connectors whose last run failed."""
    return [
        c for c in connectors_visible(actor) if getattr(c, "last_status", None) == Run.Status.FAILED
    ]


def connector_get(actor: Visitor, pk: int) -> Connector:
    found = connectors_visible(actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No such connector."))
    return found


def datasets_for_connectors(actor: Visitor) -> QuerySet[Dataset]:
    """Datasets the actor may attach a connector to."""
    qs = Dataset.objects.exclude(status=Dataset.Status.RETIRED).select_related("provider")
    ids = rules.connector_institution_ids(actor)
    if ids is not None:
        qs = qs.filter(provider_id__in=ids)
    return qs.order_by("code")


def run_list(connector: Connector, limit: int = 100) -> list[Run]:
    return list(Run.objects.filter(connector=connector)[:limit])


def run_get(actor: Visitor, connector_pk: int, run_pk: int) -> Run:
    connector = connector_get(actor, connector_pk)
    run = Run.objects.filter(pk=run_pk, connector=connector).first()
    if run is None:
        raise NotFound(_("No such run."))
    run.connector = connector
    return run


def run_lines(run: Run, *, after: int = 0, limit: int = 500) -> list[RunLogLine]:
    return list(RunLogLine.objects.filter(run=run, pk__gt=after).order_by("pk")[:limit])


def run_lines_all(run: Run) -> Iterator[RunLogLine]:
    return RunLogLine.objects.filter(run=run).order_by("pk").iterator(chunk_size=2000)


def run_progress(run: Run) -> dict[str, Any]:
    """What the run page's progress refresh shows."""
    run.refresh_from_db()
    return {
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "rows_read": run.rows_read,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
        "invalid": run.invalid,
        "finished": run.finished_at is not None,
    }


def run_error_text(run: Run) -> str:
    """A failed run's error in the reader's language: the text of its coded error line (the
    engine writes one when a run fails), else the stored (English) error."""
    if not run.error:
        return ""
    line = (
        RunLogLine.objects.filter(run=run, level=RunLogLine.Level.ERROR, code__startswith="failed")
        .order_by("-id")
        .first()
    )
    return line.text if line is not None else run.error
