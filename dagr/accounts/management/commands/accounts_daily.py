"""``dagr accounts_daily``: the daily user-management run now — access reviews opened and
overdue roles suspended, inactivity notices sent and inactive users deactivated (the worker
runs it every day by itself: ``settings.DAGR_DAILY_TASKS``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from dagr.accounts.tasks import accounts_daily


class Command(BaseCommand):
    help = "Run the daily user-management work now (access reviews, inactivity)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(accounts_daily()))
