"""Test factories shared by every app's tests. Plain functions, real database rows."""

from __future__ import annotations

import itertools
from typing import Any

from dagr.accounts.models import Institution, Membership, User
from dagr.core.identifiers import make_company_code
from tests.conftest import hashed_test_password

_serial = itertools.count(100)


def next_company_code() -> str:
    while True:
        code = make_company_code(next(_serial), prefix="5000")
        if code:
            return code


def make_institution(
    *, name: str | None = None, kind: str = Institution.Kind.BOTH, **fields: Any
) -> Institution:
    code = fields.pop("registration_number", None) or next_company_code()
    return Institution.objects.create(
        name=name or f"Iestāde {code}", registration_number=code, kind=kind, **fields
    )


def make_user(
    *,
    email: str | None = None,
    institution: Institution | None = None,
    roles: tuple[str, ...] = (),
    status: str = User.Status.ACTIVE,
    is_portal_admin: bool = False,
    **fields: Any,
) -> User:
    n = next(_serial)
    user = User.objects.create(
        email=email or f"user{n}@example.lv",
        first_name=fields.pop("first_name", "Jānis"),
        last_name=fields.pop("last_name", f"Bērziņš{n}"),
        status=status,
        is_portal_admin=is_portal_admin,
        password=hashed_test_password(),
        **fields,
    )
    for role in roles:
        assert institution is not None, "roles need an institution"
        Membership.objects.create(user=user, institution=institution, role=role)
    return user


def make_admin(**fields: Any) -> User:
    return make_user(is_portal_admin=True, **fields)


# --- catalogue -----------------------------------------------------------------------------------

PERSON_SCHEMA: dict[str, Any] = {
    "key": "personal_code",
    "fields": [
        {
            "name": "personal_code",
            "title_lv": "Personas kods",
            "title_en": "Personal code",
            "type": "string",
            "required": True,
            "personal": True,
            "identifier": "personal_code",
        },
        {
            "name": "last_name",
            "title_lv": "Uzvārds",
            "title_en": "Last name",
            "type": "string",
            "required": True,
            "personal": True,
        },
        {
            "name": "birth_date",
            "title_lv": "Dzimšanas datums",
            "title_en": "Birth date",
            "type": "date",
        },
    ],
}


def make_dataset(
    *,
    provider: Institution | None = None,
    code: str | None = None,
    schema: dict[str, Any] | None = None,
    status: str = "sandbox",
    **fields: Any,
) -> Any:
    """A dataset created through the catalogue service (as the system actor), schema version 1."""
    import copy

    from dagr.catalog.services import dataset_create
    from dagr.core.actors import SYSTEM

    n = next(_serial)
    return dataset_create(
        actor=SYSTEM,
        provider=provider or make_institution(kind=Institution.Kind.PROVIDER),
        code=code or f"dataset-{n}",
        title_lv=fields.pop("title_lv", f"Datu kopa {n}"),
        title_en=fields.pop("title_en", f"Dataset {n}"),
        schema=copy.deepcopy(schema or PERSON_SCHEMA),
        status=status,
        **fields,
    )
