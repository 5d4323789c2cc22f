"""The remote agent's API (``/api/v1/provider/connectors/…``): a connector that runs at the
provider's site (``dagr connector run --config connector.yaml``) reports its runs here, so the
portal shows them exactly like hosted ones. Authenticated like the provider loading API: a
technical connection of kind ``provider`` of the connector's own institution
(``rules.can_run_connector_remotely``); any other caller gets 404 for the connector.

A run: ``POST …/{id}/runs`` (claim; 409 ``connector_running`` while another run holds it) →
``POST …/runs/{run}/units`` for each commit → ``POST …/runs/{run}/log`` for log lines and
progress → ``POST …/runs/{run}/finish``. A unit's body is NDJSON, one object per line:
``{"record": {...}}`` for each mapped record, ``{"delete": "key"}`` for each deletion and, last,
``{"state": {...}}`` — the new cursor, saved in the same transaction as the records (so a crash
of either side never skips or duplicates)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

import orjson
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from dagr.connections.auth import principal_of, provider_auth
from dagr.core import bodies
from dagr.core.errors import ValidationError
from dagr.records.services import ConnectionActor, UnreadableRecord
from dagr_agent.connector.engine import LoadUnit

from . import services
from .models import Run

router = Router(tags=["connectors"], auth=provider_auth)

MAX_UNIT_BYTES = 1024 * 1024 * 1024


class ConnectorOut(Schema):
    id: int
    name: str
    dataset: str
    config: dict[str, Any]
    secret_names: list[str]
    state: dict[str, Any]


class RunStartOut(Schema):
    run_id: int
    state: dict[str, Any]


class UnitOut(Schema):
    created: int
    updated: int
    unchanged: int
    deleted: int


class LogLineIn(Schema):
    level: Literal["debug", "info", "warning", "error"] = "info"
    message: str
    row: dict[str, Any] | None = None
    code: str = Field(default="", max_length=40)  # the engine's code: rendered in lv/en
    params: dict[str, Any] | None = None


class CountsIn(Schema):
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    invalid: int = 0


class LogIn(Schema):
    lines: list[LogLineIn] = []
    progress: CountsIn | None = None


class FinishIn(Schema):
    status: Literal["succeeded", "failed"]
    counts: CountsIn
    error: str = ""
    error_code: str = ""
    mode: str = ""
    drift: list[dict[str, Any]] = []
    proposal: list[dict[str, Any]] = []


class RunOut(Schema):
    id: int
    status: str
    rows_read: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    invalid: int


def _actor(request: HttpRequest) -> ConnectionActor:
    return ConnectionActor.from_principal(principal_of(request))


def _run_out(run: Run) -> dict[str, Any]:
    return {
        "id": run.pk,
        "status": run.status,
        **{
            n: getattr(run, n)
            for n in ("rows_read", "created", "updated", "unchanged", "deleted", "invalid")
        },
    }


@router.get("/{connector_id}", response=ConnectorOut, summary="A connector's configuration")
def connector_detail(request: HttpRequest, connector_id: int) -> dict[str, Any]:
    connector = services.remote_connector_get(actor=_actor(request), connector_id=connector_id)
    state = getattr(connector, "state", None)
    return {
        "id": connector.pk,
        "name": connector.name,
        "dataset": connector.dataset.code,
        "config": connector.config,
        "secret_names": connector.secret_names,
        "state": state.state if state is not None else {},
    }


@router.post(
    "/{connector_id}/runs",
    response={201: RunStartOut},
    summary="Start a remote run (claims the connector) and read the saved state",
)
def run_start(request: HttpRequest, connector_id: int) -> tuple[int, dict[str, Any]]:
    run, state = services.remote_run_start(actor=_actor(request), connector_id=connector_id)
    return 201, {"run_id": run.pk, "state": state}


class _UnitBody:
    """The NDJSON unit: records streamed to the loading service; deletions and the state line
    collected on the way."""

    def __init__(self, request: HttpRequest) -> None:
        self.blocks = bodies.body_blocks(request, limit=MAX_UNIT_BYTES)
        self.deleted: set[str] = set()
        self.state: dict[str, Any] | None = None
        self.done = False

    def records(self) -> Iterator[Any]:
        for line in bodies.split_lines(self.blocks):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield UnreadableRecord("invalid_json", _("this line is not valid JSON"))
                continue
            if self.state is not None:
                raise ValidationError(
                    _("The state line must be the last line."), code="invalid_unit"
                )
            if isinstance(item, dict) and "record" in item:
                yield item["record"]
            elif isinstance(item, dict) and isinstance(item.get("delete"), str | int):
                self.deleted.add(str(item["delete"]))
            elif isinstance(item, dict) and isinstance(item.get("state"), dict):
                self.state = item["state"]
            else:
                yield UnreadableRecord("invalid_line", _("expected a record, delete or state line"))
        self.done = True

    def new_state(self) -> dict[str, Any]:
        if self.state is None:
            raise ValidationError(_("The unit has no state line."), code="invalid_unit")
        return self.state


@router.post(
    "/{connector_id}/runs/{run_id}/units",
    response=UnitOut,
    summary="Commit one unit: records, deletions and the new state in one transaction",
)
def run_unit(
    request: HttpRequest,
    connector_id: int,
    run_id: int,
    mode: Literal["upsert", "snapshot"] = "upsert",
    confirm_deletions: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, int]:
    actor = _actor(request)
    run = services.remote_run_get(actor=actor, connector_id=connector_id, run_id=run_id)
    body = _UnitBody(request)
    unit = LoadUnit(
        number=0,
        mode=mode,
        records=body.records(),
        finished=lambda: body.done,
        deleted=body.deleted,
        state=body.new_state,
        confirm_deletions=confirm_deletions,
    )
    return services.remote_run_unit(actor=actor, run=run, unit=unit)


@router.post(
    "/{connector_id}/runs/{run_id}/log", response={204: None}, summary="Log lines and progress"
)
def run_log(
    request: HttpRequest, connector_id: int, run_id: int, payload: LogIn
) -> tuple[int, None]:
    run = services.remote_run_get(actor=_actor(request), connector_id=connector_id, run_id=run_id)
    services.remote_run_report(
        run=run,
        lines=[line.dict() for line in payload.lines],
        counts=payload.progress.dict() if payload.progress else None,
    )
    return 204, None


@router.post("/{connector_id}/runs/{run_id}/finish", response=RunOut, summary="Finish the run")
def run_finish(
    request: HttpRequest, connector_id: int, run_id: int, payload: FinishIn
) -> dict[str, Any]:
    run = services.remote_run_get(actor=_actor(request), connector_id=connector_id, run_id=run_id)
    done = services.remote_run_finish(
        run=run,
        status=payload.status,
        counts=payload.counts.dict(),
        error=payload.error,
        error_code=payload.error_code,
        drift=payload.drift,
        proposal=payload.proposal,
        mode=payload.mode,
    )
    return _run_out(done)
