"""``dagr serve``: the web server (granian, WSGI) and the background worker, together.

Production runs them as separate services (``granian --interface wsgi config.wsgi:application``
and ``dagr worker``) so each scales on its own; this command is the one-machine default.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server and the background worker (Ctrl+C stops both)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("DAGR_WEB_WORKERS", "2"))
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start the worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        web = [
            python, "-m", "granian", "--interface", "wsgi",
            "--host", options["host"], "--port", str(options["port"]),
            "--workers", str(options["web_workers"]),
            "--blocking-threads", "1",
            "--no-ws",
            "config.wsgi:application",
        ]  # fmt: skip
        # Several granian worker processes: prometheus-client's multi-process mode keeps each
        # process's counters in files of one directory that /metrics adds up (docs/metrics.md).
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(
            settings.VAR_DIR / "prometheus" / str(os.getpid())
        )
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.makedirs(metrics_dir, exist_ok=True)
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        processes = [subprocess.Popen(web, env=env)]
        if not options["no_worker"]:
            worker = [python, "-m", "dagr.cli", "worker", "--interval", "0.5", "--no-reload"]
            processes.append(subprocess.Popen(worker, env=env))
        self.stdout.write(
            self.style.SUCCESS(f"DAGR is running on http://{options['host']}:{options['port']}/")
        )

        def stop(signum: int, frame: Any) -> None:
            for proc in processes:
                if proc.poll() is None:
                    proc.terminate()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while all(proc.poll() is None for proc in processes):
                time.sleep(0.5)
        finally:
            stop(signal.SIGTERM, None)
            for proc in processes:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
