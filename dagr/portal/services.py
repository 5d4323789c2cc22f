"""System health, read by /healthz and the administrator's dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from dagr.core.models import WorkerHeartbeat


def health_check() -> dict[str, Any]:
    result: dict[str, Any] = {"database": {"ok": False}, "worker": {"ok": False}}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        result["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        result["database"] = {"ok": False, "error": exc.__class__.__name__}
        result["ok"] = False
        return result
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE_S)
    alive = WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).order_by("-last_seen")
    latest = alive.first()
    result["worker"] = {
        "ok": latest is not None,
        "workers": alive.count(),
        "last_seen": latest.last_seen.isoformat() if latest else None,
    }
    result["ok"] = result["database"]["ok"] and result["worker"]["ok"]
    return result
