"""A provider with a production company dataset (nested board members, several identifiers),
a recipient institution with a recipient system and a representative, and a grant of some of
the fields under two conditions. Real rows, loaded through the real record loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dagr.accounts.models import Institution, Membership, User
from dagr.catalog.models import Dataset, SchemaVersion
from dagr.connections.models import Connection
from dagr.connections.services import connection_create
from dagr.connections.tokens import connection_states, token_encode
from dagr.core.actors import SYSTEM
from dagr.grants.cache import grant_cache
from dagr.grants.models import Grant
from dagr.grants.services import grant_approve, grant_request
from dagr.records.services import records_upsert
from dagr.retrieval.datasets import dataset_cache
from tests.factories import make_institution, make_user

SCHEMA: dict[str, Any] = {
    "key": "registration_number",
    "fields": [
        {"name": "registration_number", "title_lv": "Reģistrācijas numurs",
         "title_en": "Registration number", "type": "string", "required": True,
         "identifier": "other"},
        {"name": "name", "title_lv": "Nosaukums", "title_en": "Name", "type": "string"},
        {"name": "employees", "title_lv": "Darbinieki", "title_en": "Employees",
         "type": "integer"},
        {"name": "founded", "title_lv": "Dibināts", "title_en": "Founded", "type": "date"},
        {"name": "active", "title_lv": "Darbojas", "title_en": "Active", "type": "boolean"},
        {"name": "city", "title_lv": "Pilsēta", "title_en": "City", "type": "string"},
        {"name": "address_code", "title_lv": "Adreses kods", "title_en": "Address code",
         "type": "string", "identifier": "other"},
        {"name": "secret_note", "title_lv": "Piezīme", "title_en": "Note", "type": "string"},
        {"name": "board_members", "title_lv": "Valde", "title_en": "Board", "type": "list",
         "fields": [
             {"name": "personal_code", "title_lv": "Personas kods",
              "title_en": "Personal code", "type": "string", "required": True,
              "identifier": "other"},
             {"name": "role", "title_lv": "Amats", "title_en": "Role", "type": "string"},
             {"name": "salary", "title_lv": "Alga", "title_en": "Salary", "type": "integer"},
         ]},
    ],
}  # fmt: skip

# Granted: no secret_note, no board salary. Conditions: active, at least 10 employees.
GRANTED_FIELDS = [
    "registration_number", "name", "employees", "founded", "active", "city", "address_code",
    "board_members.personal_code", "board_members.role",
]  # fmt: skip
CONDITIONS = [
    {"field": "active", "op": "eq", "value": True},
    {"field": "employees", "op": "gte", "value": 10},
]


def company(n: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "registration_number": f"4000{n:07d}",
        "name": f"=SUM(A{n}) SIA Nr {n}" if n == 1 else f"SIA Nr {n}",
        "employees": 10 + n,
        "founded": f"20{n % 25:02d}-01-15",
        "active": True,
        "city": "Rīga" if n % 2 else "Liepāja",
        "address_code": f"1{n:08d}",
        "secret_note": f"secret {n}",
        "board_members": [
            {"personal_code": f"P-{n}", "role": "valdes priekšsēdētājs", "salary": 5000},
            {"personal_code": "P-SHARED", "role": "valdes loceklis", "salary": 3000},
        ],
    }
    data.update(overrides)
    return data


# 1–20 visible; 21 inactive (outside), 22 too small (outside), 23 deleted.
def companies() -> list[dict[str, Any]]:
    rows = [company(n) for n in range(1, 21)]
    rows.append(company(21, active=False))
    rows.append(company(22, employees=3))
    rows.append(company(23))
    return rows


@dataclass
class World:
    provider: Institution
    recipient: Institution
    dataset: Dataset
    provider_rep: User
    recipient_rep: User
    connection: Connection
    grant: Grant
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, number: str | None = "ATL-1", **extra: str) -> dict[str, str]:
        out = {"HTTP_AUTHORIZATION": f"Bearer {self.tokens['recipient']}"}
        if number is not None:
            out["HTTP_X_PERMISSION_NUMBER"] = number
        for name, value in extra.items():
            out["HTTP_" + name.upper().replace("-", "_")] = value
        return out


def token_for(connection: Connection) -> str:
    token, _ = token_encode(
        connection_id=connection.pk,
        client_id=connection.client_id,
        institution_id=connection.institution_id,
        kind=connection.kind,
        lifetime_s=600,
    )
    return token


def make_world(
    *, conditions: list[dict[str, Any]] | None = None, quota: int | None = None
) -> World:
    from dagr.records.services import records_delete

    provider = make_institution(kind=Institution.Kind.PROVIDER)
    recipient = make_institution(kind=Institution.Kind.RECIPIENT)
    provider_rep = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    recipient_rep = make_user(institution=recipient, roles=(Membership.Role.RECIPIENT,))
    dataset = Dataset.objects.create(
        provider=provider,
        code=f"companies-{provider.pk}",
        title_lv="Uzņēmumi",
        title_en="Companies",
        status=Dataset.Status.PRODUCTION,
    )
    dataset.schema = SchemaVersion.objects.create(dataset=dataset, number=1, definition=SCHEMA)
    dataset.save(update_fields=["schema"])
    records_upsert(actor=SYSTEM, dataset=dataset, records=companies())
    records_delete(actor=SYSTEM, dataset=dataset, keys=["40000000023"])
    requested = grant_request(
        actor=recipient_rep,
        recipient=recipient,
        dataset=dataset,
        fields=GRANTED_FIELDS,
        conditions=CONDITIONS if conditions is None else conditions,
        legal_basis="Likuma 5. pants",
        purpose="Uzraudzība",
    )
    grant = grant_approve(
        actor=provider_rep, grant=requested, permission_number="ATL-1", quota=quota
    )
    connection, _ = connection_create(
        actor=recipient_rep, institution=recipient, name="Sistēma", kind="recipient"
    )
    provider_conn, _ = connection_create(
        actor=provider_rep, institution=provider, name="Ielāde", kind="provider"
    )
    grant_cache.invalidate()
    dataset_cache.invalidate()
    connection_states.invalidate()
    world = World(provider, recipient, dataset, provider_rep, recipient_rep, connection, grant)
    world.tokens = {"recipient": token_for(connection), "provider": token_for(provider_conn)}
    return world


def set_grant(grant: Grant, **values: Any) -> None:
    """Change a grant's stored state directly (validity in the past, revoked) for a test."""
    Grant.objects.filter(pk=grant.pk).update(**values)
    grant_cache.invalidate()


def today() -> date:
    from django.utils import timezone

    return timezone.localdate()
