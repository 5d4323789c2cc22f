"""Grants test data: a provider with a production dataset (persons with a nested list), a
recipient, and their representatives. Real rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagr.accounts.models import Institution, Membership, User
from dagr.catalog.models import Dataset, SchemaVersion
from dagr.grants.models import Grant
from dagr.grants.services import grant_approve, grant_request
from tests.factories import make_institution, make_user

PERSON_SCHEMA: dict[str, Any] = {
    "key": "personal_code",
    "fields": [
        {"name": "personal_code", "title_lv": "Personas kods", "title_en": "Personal code",
         "type": "string", "required": True, "identifier": "other", "personal": True},
        {"name": "name", "title_lv": "Vārds", "title_en": "Name", "type": "string"},
        {"name": "birth_date", "title_lv": "Dzimšanas datums", "title_en": "Birth date",
         "type": "date"},
        {"name": "children", "title_lv": "Bērni", "title_en": "Children", "type": "integer"},
        {"name": "income", "title_lv": "Ienākumi", "title_en": "Income", "type": "decimal"},
        {"name": "resident", "title_lv": "Rezidents", "title_en": "Resident", "type": "boolean"},
        {"name": "updated", "title_lv": "Atjaunots", "title_en": "Updated", "type": "datetime"},
        {"name": "board_members", "title_lv": "Valdes locekļi", "title_en": "Board members",
         "type": "list", "fields": [
             {"name": "personal_code", "title_lv": "Personas kods", "title_en": "Personal code",
              "type": "string"},
             {"name": "role", "title_lv": "Amats", "title_en": "Role", "type": "string"},
         ]},
    ],
}  # fmt: skip

_n = iter(range(1, 10**9))


def make_dataset(
    *, provider: Institution | None = None, status: str = Dataset.Status.PRODUCTION
) -> Dataset:
    provider = provider or make_institution(kind=Institution.Kind.PROVIDER)
    dataset = Dataset.objects.create(
        provider=provider,
        code=f"persons-{next(_n)}",
        title_lv="Personas",
        title_en="Persons",
        status=status,
    )
    dataset.schema = SchemaVersion.objects.create(
        dataset=dataset, number=1, definition=PERSON_SCHEMA
    )
    dataset.save(update_fields=["schema"])
    return dataset


@dataclass
class World:
    provider: Institution
    recipient: Institution
    dataset: Dataset
    provider_rep: User
    recipient_rep: User
    admin: User


def make_world() -> World:
    provider = make_institution(kind=Institution.Kind.PROVIDER)
    recipient = make_institution(kind=Institution.Kind.RECIPIENT)
    return World(
        provider=provider,
        recipient=recipient,
        dataset=make_dataset(provider=provider),
        provider_rep=make_user(institution=provider, roles=(Membership.Role.PROVIDER,)),
        recipient_rep=make_user(institution=recipient, roles=(Membership.Role.RECIPIENT,)),
        admin=make_user(is_portal_admin=True),
    )


def make_request(w: World, **overrides: Any) -> Grant:
    kwargs: dict[str, Any] = {
        "actor": w.recipient_rep,
        "recipient": w.recipient,
        "dataset": w.dataset,
        "fields": ["personal_code", "name", "birth_date", "board_members.role"],
        "conditions": [{"field": "birth_date", "op": "older_than", "value": {"years": 18}}],
        "legal_basis": "Likuma 5. pants",
        "purpose": "Pabalstu piešķiršana",
    }
    kwargs.update(overrides)
    return grant_request(**kwargs)


def make_approved(w: World, number: str = "ATL-1", **overrides: Any) -> Grant:
    grant = make_request(w)
    return grant_approve(actor=w.provider_rep, grant=grant, permission_number=number, **overrides)
