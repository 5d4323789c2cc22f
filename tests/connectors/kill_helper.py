"""Child-process helper of ``test_kill_resume``: ``setup N`` creates a provider, a dataset and an
incremental connector over N slow memory rows (prints the connector id); ``inspect ID`` prints the
connector's state and the dataset's records and changes as JSON."""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    django.setup()
    from dagr.accounts.models import Institution
    from dagr.connectors import services
    from dagr.connectors.models import Connector, ConnectorState, Run
    from dagr.core.actors import SYSTEM
    from dagr.records.models import Change, Record
    from tests.connectors.test_services import SCHEMA, incremental
    from tests.factories import make_dataset

    if sys.argv[1] == "setup":
        provider = Institution.objects.create(
            name="Iestāde", registration_number="40000000001", kind=Institution.Kind.PROVIDER
        )
        dataset = make_dataset(schema=SCHEMA, provider=provider, code="kill-test")
        connector = services.connector_create(
            actor=SYSTEM,
            dataset=dataset,
            name="kill",
            config=incremental(
                options={"count": int(sys.argv[2]), "delay_s": 0.02}, commit_rows=100, batch_size=50
            ),
        )
        print(connector.pk)  # noqa: T201 - the parent reads it
        return
    connector = Connector.objects.get(pk=int(sys.argv[2]))
    keys = list(
        Record.objects.filter(dataset=connector.dataset, deleted_at__isnull=True).values_list(
            "key", flat=True
        )
    )
    changes = list(
        Change.objects.filter(dataset=connector.dataset).values_list("operation", flat=True)
    )
    print(  # noqa: T201 - the parent reads it
        json.dumps(
            {
                "state": ConnectorState.objects.get(connector=connector).state,
                "keys": keys,
                "changes": changes,
                "runs": list(Run.objects.order_by("pk").values_list("status", "error_code")),
            }
        )
    )


if __name__ == "__main__":
    main()
