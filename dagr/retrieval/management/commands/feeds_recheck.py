"""``dagr feeds_recheck``: run the daily re-check of relative-date conditions now (for cron-based
operation; ``dagr worker`` runs it daily by itself)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dagr.retrieval.recheck import feeds_recheck


class Command(BaseCommand):
    help = "Re-check relative-date conditions (e.g. 'older than 18 years') for the change feeds."

    def handle(self, *args: Any, **options: Any) -> None:
        for code, count in sorted(feeds_recheck().items()):
            self.stdout.write(f"{code}: {count}")
