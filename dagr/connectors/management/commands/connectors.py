"""``dagr connectors run-now <id> [--confirm-deletions N] [--snapshot]``: run a hosted connector
now in this process (the service the worker's task calls), printing the outcome.
``dagr connectors list``: the connectors with their last run.
Exit status: 0 succeeded, 1 failed or refused.

(Plural on purpose: ``dagr connector …`` is the remote agent's command, which runs without
Django — ``dagr/cli.py`` hands every ``dagr connector`` to ``dagr_agent`` before Django starts.)"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dagr.connectors import selectors, services
from dagr.connectors.models import Connector
from dagr.core.actors import SYSTEM
from dagr.core.errors import DomainError


class Command(BaseCommand):
    help = "Run a hosted connector now, or list connectors."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run-now", help="run a hosted connector now")
        run.add_argument("connector_id", type=int)
        run.add_argument("--confirm-deletions", type=int, default=None)
        run.add_argument("--snapshot", action="store_true", help="a full snapshot this time")
        sub.add_parser("list", help="the connectors and their last run")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for c in selectors.connectors_visible(SYSTEM):
                self.stdout.write(
                    f"{c.pk}\t{c.name}\t{c.dataset.code}\t{getattr(c, 'last_status', None) or '-'}"
                )
            return
        connector = (
            Connector.objects.select_related("dataset").filter(pk=options["connector_id"]).first()
        )
        if connector is None:
            raise CommandError(f"no connector {options['connector_id']}")
        try:
            run = services.run_hosted(
                actor=SYSTEM,
                connector=connector,
                trigger="command",
                confirm_deletions=options["confirm_deletions"],
                force_snapshot=options["snapshot"],
            )
        except DomainError as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(
            f"run {run.pk}: {run.status}; read {run.rows_read}, created {run.created}, "
            f"updated {run.updated}, unchanged {run.unchanged}, deleted {run.deleted}, "
            f"invalid {run.invalid}"
        )
        if run.status != run.Status.SUCCEEDED:
            raise CommandError(run.error or run.status)
