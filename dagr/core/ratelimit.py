"""Rate limits: fixed-window counters in the database (``RateLimitCounter``).

Why the database and not Django's cache framework: DAGR runs several stateless web processes
and has no cache server; a local-memory cache would count per process, and the database cache
backend increments by read-then-write. An UPDATE … SET count = count + 1 counts exactly on
SQLite and PostgreSQL alike, and the counters survive a restart.

Keys are hashed (SHA-256 with a namespace) before they are stored: no e-mail address or IP
address is kept in the table. Expired windows are deleted when a key starts a new window.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import RateLimitCounter


def _digest(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}\x00{value}".encode()).hexdigest()


def rate_limit_hit(*, scope: str, value: str, window_s: int) -> int:
    """Count one event for ``value`` in ``scope``; returns the count in the current window."""
    key = _digest(scope, value)
    now = timezone.now()
    with transaction.atomic():
        if RateLimitCounter.objects.filter(key=key, window_ends_at__gt=now).update(
            count=F("count") + 1
        ):
            return RateLimitCounter.objects.values_list("count", flat=True).get(key=key)
        RateLimitCounter.objects.filter(window_ends_at__lte=now).delete()
        try:
            with transaction.atomic():
                RateLimitCounter.objects.create(
                    key=key, window_ends_at=now + timedelta(seconds=window_s), count=1
                )
        except IntegrityError:  # another process started the window first
            RateLimitCounter.objects.filter(key=key).update(count=F("count") + 1)
            return RateLimitCounter.objects.values_list("count", flat=True).get(key=key)
    return 1


def rate_limit_wait(*, scope: str, value: str, limit: int) -> int | None:
    """Seconds until ``value`` may act again in ``scope`` when its current window already holds
    ``limit`` events, else ``None``."""
    now = timezone.now()
    row = (
        RateLimitCounter.objects.filter(key=_digest(scope, value), window_ends_at__gt=now)
        .values_list("count", "window_ends_at")
        .first()
    )
    if row is None or row[0] < limit:
        return None
    return max(1, math.ceil((row[1] - now).total_seconds()))


def client_ip(request: object) -> str:
    """The client's address as Django sees it (``REMOTE_ADDR``; behind a reverse proxy, the
    proxy passes it on — see README, ``DAGR_PROXY_SSL_HEADER``)."""
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR") or "unknown")
