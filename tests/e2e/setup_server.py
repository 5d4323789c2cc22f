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
from typing import Any

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
    records_upsert(
        actor=SYSTEM,
        dataset=datasets[data.HELP],
        records=data.persons(data.HELP_PERSONS, serial=data.HELP_SERIAL),
        source=Load.Source.API,
    )
    _test_data(provider, recipient, asker)
    _open_data(datasets[data.OPEN_DATA])
    provider_conn, provider_secret = connection_create(
        actor=SYSTEM, institution=provider, name="e2e-provider", kind="provider",
        token_lifetime_s=3600,
    )  # fmt: skip
    recipient_conn, recipient_secret = connection_create(
        actor=SYSTEM, institution=recipient, name="e2e-recipient", kind="recipient",
        token_lifetime_s=3600,
    )  # fmt: skip
    # "who read" through the API (the knowledge base's executed examples)
    oversight_conn, oversight_secret = connection_create(
        actor=SYSTEM, institution=recipient, name="e2e-oversight", kind="oversight",
        token_lifetime_s=3600,
    )  # fmt: skip
    json.dump(
        {
            "provider": {"client_id": provider_conn.client_id, "secret": provider_secret},
            "recipient": {"client_id": recipient_conn.client_id, "secret": recipient_secret},
            "oversight": {"client_id": oversight_conn.client_id, "secret": oversight_secret},
        },
        sys.stdout,
    )


def _open_data(dataset: Any) -> None:
    """Complete DCAT-AP metadata of the dataset the CKAN sync test publishes, published in the
    open data catalogue (what the CKAN package mirrors)."""
    from dagr.core.actors import SYSTEM
    from dagr.opendata.services import metadata_publish, metadata_update
    from tests.opendata.conftest import complete_values

    dataset.description_lv = "Personu dati sinhronizācijas pārbaudei."
    dataset.description_en = "Person data for the sync check."
    dataset.save(update_fields=["description_lv", "description_en"])
    metadata_update(actor=SYSTEM, dataset=dataset, **complete_values())
    metadata_publish(actor=SYSTEM, dataset=dataset)


def _test_data(provider: object, recipient: object, asker: object) -> None:
    """A published release of anonymised test data (built by ``dagr testdata build``, which must
    exit 0) and the recipient's sandbox grant on its test dataset."""
    import io

    from django.core.management import call_command

    from dagr.anonymisation.models import Release, TestDataset
    from dagr.core.actors import SYSTEM
    from dagr.grants.services import grant_approve, grant_request
    from dagr.records.models import Load
    from dagr.records.services import records_upsert
    from tests.e2e import data
    from tests.factories import make_dataset

    source = make_dataset(
        provider=provider, code=data.TEST_DATA, schema=data.TEST_DATA_SCHEMA, status="production"
    )
    records_upsert(
        actor=SYSTEM, dataset=source, records=data.test_data_persons(), source=Load.Source.API
    )
    call_command("testdata", "build", "--datasets", data.TEST_DATA, stdout=io.StringIO())
    link = TestDataset.objects.select_related("target", "release").get(source=source)
    assert link.release is not None and link.release.status == Release.Status.PUBLISHED
    assert link.target.code == data.TEST_DATA_TARGET
    grant = grant_request(
        actor=asker,
        recipient=recipient,
        dataset=link.target,
        fields=[field["name"] for field in data.TEST_DATA_SCHEMA["fields"]],
        legal_basis="E2E",
        purpose="E2E: building an integration against test data",
    )
    grant_approve(actor=SYSTEM, grant=grant, permission_number=data.TEST_DATA_GRANT)


if __name__ == "__main__":
    main()
