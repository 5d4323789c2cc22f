"""The worker's notification tick (``settings.DAGR_PERIODIC_JOBS``, run by ``dagr worker`` every
``NOTIFICATIONS_TICK_S`` seconds in its own thread): the periodic checks (at most every
``NOTIFICATIONS_CHECK_INTERVAL_S``), then the audit-log dispatch, then newsletter expansion, then
one batch of e-mail. Each step commits on its own; a failing step is logged and the next tick
tries again. Nothing of it runs in the web tier."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings

from . import checks, delivery, dispatch, services

logger = logging.getLogger(__name__)
_last_check = 0.0


def tick() -> dict[str, int]:
    global _last_check
    result: dict[str, int] = {}
    steps: list[tuple[str, Callable[[], int]]] = []
    if time.monotonic() - _last_check >= getattr(settings, "NOTIFICATIONS_CHECK_INTERVAL_S", 300):
        _last_check = time.monotonic()
        steps.append(("checks", lambda: sum(checks.run_checks().values())))
    steps += [
        ("notified", dispatch.dispatch_all),
        ("expanded", services.newsletters_expand),
        ("sent", lambda: delivery.deliveries_send()["sent"]),
    ]
    for name, step in steps:
        try:
            result[name] = step()
        except Exception:  # one failing step must not stop the others or the worker
            logger.warning("notification step %s failed", name, exc_info=True)
    return result
