from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class WorkerHeartbeat(models.Model):
    """Each background worker process writes its row every few seconds; /healthz reads it."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class RateLimitCounter(models.Model):
    """One fixed-window counter of ``dagr.core.ratelimit``: how many times something happened
    for one key (a hash of, e.g., an e-mail address or a client IP) in the window ending at
    ``window_ends_at``. In the database, so every web process counts together."""

    key = models.CharField(max_length=64, unique=True)
    window_ends_at = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.count} until {self.window_ends_at:%Y-%m-%d %H:%M:%S}"
