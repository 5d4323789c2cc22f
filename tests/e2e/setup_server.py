"""The data the end-to-end tier needs, written into the scratch database of the server under test
(run in a child process with that ``DATABASE_URL`` after ``dagr migrate``; prints one JSON line).

A provider institution with a portal user and a provider connection; a recipient institution
with a recipient user, a recipient connection and approved grants; one production dataset per
test (so the tests do not depend on each other's order). Reuses the test factories.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from dagr.accounts.models import Institution, Membership
    from dagr.connections.services import connection_create
    from dagr.core.actors import SYSTEM
    from dagr.grants.services import grant_approve, grant_request
    from dagr.records.models import Load
    from dagr.records.services import records_upsert
    from tests.e2e import data
    from tests.factories import PERSON_SCHEMA, make_dataset, make_institution, make_user

    provider = make_institution(name="E2E datu devējs", kind=Institution.Kind.PROVIDER)
    recipient = make_institution(name="E2E datu saņēmējs", kind=Institution.Kind.RECIPIENT)
    make_user(email=data.PROVIDER_EMAIL, institution=provider, roles=(Membership.Role.PROVIDER,))
    asker = make_user(
        email=data.RECIPIENT_EMAIL, institution=recipient, roles=(Membership.Role.RECIPIENT,)
    )
    datasets = {
        code: make_dataset(provider=provider, code=code, status="production")
        for code in data.DATASETS
    }
    fields = [field["name"] for field in PERSON_SCHEMA["fields"]]
    for code, permission in data.GRANTS.items():
        grant = grant_request(
            actor=asker,
            recipient=recipient,
            dataset=datasets[code],
            fields=fields,
            legal_basis="E2E",
            purpose="E2E",
        )
        grant_approve(actor=SYSTEM, grant=grant, permission_number=permission)
    records_upsert(
        actor=SYSTEM,
        dataset=datasets[data.LOOKUP],
        records=data.persons(data.LOOKUP_PERSONS, serial=900_000),
        source=Load.Source.API,
    )
    provider_conn, provider_secret = connection_create(
        actor=SYSTEM, institution=provider, name="e2e-provider", kind="provider",
        token_lifetime_s=3600,
    )  # fmt: skip
    recipient_conn, recipient_secret = connection_create(
        actor=SYSTEM, institution=recipient, name="e2e-recipient", kind="recipient",
        token_lifetime_s=3600,
    )  # fmt: skip
    json.dump(
        {
            "provider": {"client_id": provider_conn.client_id, "secret": provider_secret},
            "recipient": {"client_id": recipient_conn.client_id, "secret": recipient_secret},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
