"""Newsletter sending speed: one newsletter to BENCH_NEWSLETTER_USERS (default 10,000) users,
through the worker's code path, to a local SMTP sink.

    .venv/bin/python bench/newsletter.py        (make bench-newsletter)

1. A fresh SQLite database in a temporary directory (or ``DATABASE_URL`` when set), migrated;
   BENCH_NEWSLETTER_USERS active users (every third one English), bulk-created.
2. An aiosmtpd server on loopback that accepts every message (counts them; ``BENCH_SMTP_DELAY_MS``
   adds a delay per message to imitate a slower relay).
3. An administrator writes the newsletter and queues it (``services.newsletter_save`` and
   ``newsletter_queue``: what the portal does); then the steps of the worker's notification tick
   (``dagr.notifications.tasks.tick``: expand to deliveries, send one batch) run in a loop until
   the newsletter is ``sent``. The rate limit is off (``NOTIFICATIONS_EMAIL_RATE=0``) unless
   ``BENCH_RATE`` is set, so the figure is what the code and the SMTP exchange allow.
4. A table, then ``RESULT newsletter users=<n> messages_per_s=<m> render_per_s=<r>
   send_per_s=<s> total_s=<t> sent=<k> failed=<f>``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Sink:
    def __init__(self, delay_s: float, counter) -> None:  # type: ignore[no-untyped-def]
        self.counter = counter
        self.delay_s = delay_s

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def serve_sink(port: int, delay_s: float, counter, stop) -> None:  # type: ignore[no-untyped-def]
    """The SMTP sink in its own process, as a relay would be (in-process it would share the
    GIL with the sender and halve both)."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(Sink(delay_s, counter), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def main() -> None:
    users = int(os.environ.get("BENCH_NEWSLETTER_USERS", "10000"))
    tmp = Path(tempfile.mkdtemp(prefix="dagr-bench-newsletter-"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DAGR_VAR_DIR", str(tmp / "var"))
    import logging

    import django

    django.setup()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command lines
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from dagr.accounts.models import User
    from dagr.core.actors import SYSTEM
    from dagr.notifications import delivery, selectors, services
    from dagr.notifications.models import Newsletter

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    counter, stop = multiprocessing.Value("i", 0), multiprocessing.Event()
    sink = multiprocessing.Process(
        target=serve_sink,
        args=(port, float(os.environ.get("BENCH_SMTP_DELAY_MS", "0")) / 1000, counter, stop),
        daemon=True,
    )
    sink.start()
    for _attempt in range(100):  # until it listens
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 20},
        }
    }
    settings.NOTIFICATIONS_EMAIL_RATE = float(os.environ.get("BENCH_RATE", "0"))
    settings.SITE_URL = "https://dagr.example.lv"

    started = time.perf_counter()
    User.objects.bulk_create(
        [
            User(
                email=f"lietotajs{n}@example.lv",
                first_name="Lietotājs",
                last_name=f"Nr{n}",
                status=User.Status.ACTIVE,
                language="en" if n % 3 == 0 else "lv",
                password="!",  # noqa: S106 — an unusable password (no login)
            )
            for n in range(users)
        ],
        batch_size=2000,
    )
    setup_s = time.perf_counter() - started

    newsletter = services.newsletter_save(
        actor=SYSTEM,
        data={
            "subject_lv": "DAGR jaunumi: decembris",
            "html_lv": "<h1>Labdien, {{ recipient_name }}!</h1><p>Jaunā versija ir pieejama."
            '</p><ul><li>Paziņojumi</li><li>Jaunumu vēstules</li></ul><p><a href="'
            '{{ site_url }}">Atvērt DAGR</a></p>',
            "text_lv": "",
            "subject_en": "DAGR news: December",
            "html_en": "<h1>Hello {{ recipient_name }},</h1><p>A new release is available.</p>"
            '<p><a href="{{ site_url }}">Open DAGR</a></p>',
            "text_en": "",
            "group": Newsletter.Group.ALL,
            "group_value": "",
            "mandatory": False,
        },
    )
    services.newsletter_queue(actor=SYSTEM, newsletter=newsletter)

    expand_s = send_s = 0.0
    t0 = time.perf_counter()
    while True:
        # the steps of dagr.notifications.tasks.tick, timed apart
        a = time.perf_counter()
        services.newsletters_expand()
        b = time.perf_counter()
        delivery.deliveries_send()
        c = time.perf_counter()
        expand_s += b - a
        send_s += c - b
        newsletter.refresh_from_db()
        if newsletter.status == Newsletter.Status.SENT:
            break
    total_s = time.perf_counter() - t0
    stop.set()
    sink.join(timeout=10)
    received = counter.value
    progress = selectors.newsletter_progress(newsletter)
    sent, failed = progress["sent"], progress["failed"]
    per_s = sent / total_s if total_s else 0.0
    render_per_s = progress["total"] / expand_s if expand_s else 0.0
    send_per_s = sent / send_s if send_s else 0.0
    rows = [
        ("users", f"{users:,}"),
        ("users created (s)", f"{setup_s:.1f}"),
        ("messages sent / failed", f"{sent:,} / {failed:,}"),
        ("received by the SMTP sink", f"{received:,}"),
        ("render + queue (s)", f"{expand_s:.1f}  ({render_per_s:,.0f}/s)"),
        ("SMTP sending (s)", f"{send_s:.1f}  ({send_per_s:,.0f}/s)"),
        ("total (s)", f"{total_s:.1f}"),
        ("messages/s end to end", f"{per_s:,.0f}"),
        ("database", settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'newsletter bench':<{width}}  value")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(
        f"RESULT newsletter users={users} messages_per_s={per_s:.0f} "
        f"render_per_s={render_per_s:.0f} send_per_s={send_per_s:.0f} total_s={total_s:.1f} "
        f"sent={sent} failed={failed}"
    )
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
    if sent != users or received != users:
        sys.exit(1)


if __name__ == "__main__":
    main()
