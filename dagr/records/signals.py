"""Signals of the records app, so later apps can react to loads without the records app
importing them.

``records_changed``: sent (``sender=Dataset``, ``dataset_id=<id>``) after a load or deletion that
succeeded has COMMITTED, so receivers see the new change-log entries (e.g. the webhook
dispatcher of ``dagr.monitoring``). Receivers must be quick (enqueue work, do not do it).
"""

from __future__ import annotations

from django.dispatch import Signal

records_changed = Signal()
