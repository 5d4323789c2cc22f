"""A small world for the dashboard: two providers with a dataset each, two recipients with
grants, people in each role, connections, and access entries written by the real audit writer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from dagr.accounts.models import Institution, Membership, User
from dagr.audit.access import access_entry_write
from dagr.connections import services as connection_services
from dagr.connections import tokens
from dagr.grants.models import Grant
from tests.factories import make_admin, make_dataset, make_institution, make_user


@dataclass
class World:
    provider: Institution
    other_provider: Institution
    recipient: Institution
    other_recipient: Institution
    persons: Any
    other_persons: Any
    admin: User
    provider_user: User
    recipient_user: User
    other_recipient_user: User
    outsider: User
    provider_token: str
    recipient_token: str
    other_provider_token: str
    recipient_connection_id: int


def token(institution: Institution, kind: str) -> tuple[str, int]:
    conn, _ = connection_services.connection_create(
        actor=make_admin(), institution=institution, name=f"{kind} system", kind=kind
    )
    tokens.connection_states.invalidate()
    value, _ = tokens.token_encode(
        connection_id=conn.pk,
        client_id=conn.client_id,
        institution_id=institution.pk,
        kind=kind,
        lifetime_s=600,
    )
    return value, conn.pk


def access(world: World, *, minutes_ago: float, **kwargs: Any) -> None:
    """One access entry through the real writer, ``minutes_ago`` before now."""
    values: dict[str, Any] = {
        "operation": "record.get",
        "outcome": "ok",
        "dataset_id": world.persons.pk,
        "dataset_code": world.persons.code,
        "institution_id": world.recipient.pk,
        "connection_id": world.recipient_connection_id,
        "records_returned": 1,
        "identifiers": ["32000000001"],
        "duration_ms": 3.0,
        **kwargs,
    }
    values["at"] = timezone.now() - timedelta(minutes=minutes_ago)
    access_entry_write(**values)


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def build_world() -> World:
    provider = make_institution(name="Pilsonības un migrācijas lietu pārvalde", kind="provider")
    other_provider = make_institution(name="Valsts zemes dienests", kind="provider")
    recipient = make_institution(name="Rīgas pašvaldība", kind="recipient")
    other_recipient = make_institution(name="Valsts ieņēmumu dienests", kind="recipient")
    persons = make_dataset(provider=provider, code="persons", status="production")
    parcels = make_dataset(provider=other_provider, code="parcels", status="production")
    for r, d in ((recipient, persons), (other_recipient, persons), (other_recipient, parcels)):
        Grant.objects.create(
            recipient=r, dataset=d, legal_basis="Likums", purpose="Pārbaude", status="approved",
            permission_number=f"P-{r.pk}-{d.pk}", quota=1000,
        )  # fmt: skip
    provider_token, _ = token(provider, "provider")
    other_provider_token, _ = token(other_provider, "provider")
    recipient_token, recipient_conn = token(recipient, "recipient")
    w = World(
        provider=provider,
        other_provider=other_provider,
        recipient=recipient,
        other_recipient=other_recipient,
        persons=persons,
        other_persons=parcels,
        admin=make_admin(),
        provider_user=make_user(institution=provider, roles=(Membership.Role.PROVIDER,)),
        recipient_user=make_user(institution=recipient, roles=(Membership.Role.RECIPIENT,)),
        other_recipient_user=make_user(
            institution=other_recipient, roles=(Membership.Role.RECIPIENT,)
        ),
        outsider=make_user(),
        provider_token=provider_token,
        recipient_token=recipient_token,
        other_provider_token=other_provider_token,
        recipient_connection_id=recipient_conn,
    )
    return w


@pytest.fixture
def history(world: World) -> World:
    return build_history(world)


def build_history(world: World) -> World:
    """Accesses over the last hours: the recipient reads persons (5 ok, 1 not found, one slow),
    the other recipient reads persons (2) and parcels (3, one denied)."""
    for i in range(5):
        access(world, minutes_ago=10 + i, duration_ms=2.0 + i)
    access(world, minutes_ago=12, outcome="not_found", status_code=404, records_returned=0)
    access(world, minutes_ago=13, duration_ms=700.0, operation="record.lookup", records_returned=20)
    other = {"institution_id": world.other_recipient.pk, "connection_id": None}
    for i in range(2):
        access(world, minutes_ago=20 + i, **other)
    for i in range(3):
        access(
            world, minutes_ago=30 + i, dataset_id=world.other_persons.pk, dataset_code="parcels",
            **other,
        )  # fmt: skip
    access(
        world, minutes_ago=31, dataset_id=world.other_persons.pk, dataset_code="parcels",
        outcome="denied", status_code=403, **other,
    )  # fmt: skip
    return world


def now_plus(seconds: float = 60) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)
