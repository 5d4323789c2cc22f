"""``dagr worker``: the database-backed task worker (django-tasks-db) plus a heartbeat row that
``/healthz`` reads to tell whether background work is being processed, and the signed audit
checkpoints (every ``AUDIT_CHECKPOINT_INTERVAL_S`` seconds when a chain moved, and at shutdown),
and the periodic jobs of ``settings.DAGR_PERIODIC_JOBS`` (dotted path → seconds), each in its own
thread (the notifications' dispatch and e-mail sending)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from dagr.core.models import WorkerHeartbeat

HEARTBEAT_INTERVAL_S = 5.0
logger = logging.getLogger(__name__)


def _beat(worker_id: str, started_at: Any, stop: threading.Event) -> None:
    hostname = socket.gethostname()
    while not stop.is_set():
        try:
            close_old_connections()
            WorkerHeartbeat.objects.update_or_create(
                worker_id=worker_id,
                defaults={
                    "hostname": hostname,
                    "pid": os.getpid(),
                    "started_at": started_at,
                    "last_seen": timezone.now(),
                },
            )
        except Exception:  # a missed beat must never kill the worker
            logger.warning("worker heartbeat could not be written", exc_info=True)
        stop.wait(HEARTBEAT_INTERVAL_S)
    connection.close()


def _checkpoints(stop: threading.Event) -> None:
    """Record a signed checkpoint of the audit chain heads at a fixed interval (when any head
    moved), and once more when the worker stops."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    # Named by the settings (the audit sits above core, so core does not import it).
    checkpoint_write = import_string(settings.AUDIT_CHECKPOINT_WRITER)
    while True:
        stopping = stop.wait(settings.AUDIT_CHECKPOINT_INTERVAL_S)
        try:
            close_old_connections()
            checkpoint_write(only_if_changed=True)
        except Exception:  # a missed checkpoint must never kill the worker; the next one follows
            logger.warning("audit checkpoint could not be written", exc_info=True)
        if stopping:
            break
    connection.close()


def _periodic(path: str, interval: float, stop: threading.Event) -> None:
    """Call the function at ``path`` every ``interval`` seconds until the worker stops (named by
    the settings, ``DAGR_PERIODIC_JOBS``: core imports no app above it)."""
    from django.utils.module_loading import import_string

    job = import_string(path)
    while not stop.wait(interval):
        try:
            close_old_connections()
            job()
        except Exception:  # a failed run must never kill the worker; the next one follows
            logger.warning("periodic job %s failed", path, exc_info=True)
    connection.close()


def _schedule_daily_tasks() -> None:
    """Queue one run of each task in ``settings.DAGR_DAILY_TASKS`` unless one is already
    waiting; each such task queues its own next run (so a fresh installation, and one whose
    queue was emptied, gets its daily work without a separate scheduler)."""
    from django.conf import settings
    from django.utils.module_loading import import_string
    from django_tasks_db.models import DBTaskResult

    for path in getattr(settings, "DAGR_DAILY_TASKS", ()):
        try:
            if not DBTaskResult.objects.filter(task_path=path, status="READY").exists():
                import_string(path).enqueue()
        except Exception:  # a scheduling problem must not keep the worker from starting
            logger.warning("daily task %s could not be scheduled", path, exc_info=True)


class Command(DbWorkerCommand):
    help = "Run the background worker (processes queued tasks) and report its heartbeat."

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options.get("worker_id") or socket.gethostname()
        stop = threading.Event()
        thread = threading.Thread(
            target=_beat, args=(worker_id[:64], timezone.now(), stop), daemon=True
        )
        thread.start()
        checkpoints = threading.Thread(target=_checkpoints, args=(stop,), daemon=True)
        checkpoints.start()
        from django.conf import settings

        periodic = [
            threading.Thread(target=_periodic, args=(path, float(interval), stop), daemon=True)
            for path, interval in getattr(settings, "DAGR_PERIODIC_JOBS", {}).items()
        ]
        for job in periodic:
            job.start()
        _schedule_daily_tasks()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            checkpoints.join(timeout=30)  # the shutdown checkpoint
            for job in periodic:
                job.join(timeout=30)
            WorkerHeartbeat.objects.filter(worker_id=worker_id[:64]).delete()
