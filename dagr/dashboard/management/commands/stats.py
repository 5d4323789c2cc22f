"""``dagr stats rebuild``: recompute the statistics rollups from the access audit (they are
derived data); ``dagr stats advance``: fold in what is new now (the worker does it every
``DAGR_STATS_INTERVAL_S`` seconds); ``dagr stats lag``: how far behind they are."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dagr.dashboard.selectors import rollup_lag_seconds
from dagr.dashboard.services import rollups_advance, rollups_rebuild


class Command(BaseCommand):
    help = "Statistics rollups of the access audit: rebuild, advance or show the lag."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "advance", "lag"])

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["action"] == "lag":
            self.stdout.write(f"{rollup_lag_seconds():.1f} s")
            return
        run = rollups_rebuild if options["action"] == "rebuild" else rollups_advance
        n = run()
        self.stdout.write(f"{n} access entries folded in {time.monotonic() - started:.1f} s")
