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
