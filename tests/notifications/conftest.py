"""Notification tests: a loopback SMTP server that can refuse recipients (451 once / 550), and a
helper that runs what the worker's tick runs (dispatch, newsletter expansion, one batch of mail)."""

from __future__ import annotations

import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest


@dataclass
class PickyMailbox:
    """Accepts mail like ``tests.conftest.Mailbox``; refuses RCPT TO for addresses starting with
    ``tempfail`` with 451 the first ``temp_failures`` times, and ``reject…`` always with 550."""

    messages: list[Message] = field(default_factory=list)
    temp_failures: int = 1
    seen: dict[str, int] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        local = address.split("@")[0]
        if local.startswith("reject"):
            return "550 5.1.1 Mailbox does not exist"
        if local.startswith("tempfail"):
            self.seen[address] = self.seen.get(address, 0) + 1
            if self.seen[address] <= self.temp_failures:
                return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.messages.append(message_from_bytes(raw, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(settings: Any) -> Iterator[PickyMailbox]:
    from aiosmtpd.controller import Controller

    mailbox = PickyMailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 10},
        }
    }
    settings.NOTIFICATIONS_EMAIL_RATE = 0
    settings.SITE_URL = "https://dagr.example.lv"
    try:
        yield mailbox
    finally:
        controller.stop()


def run_worker_steps() -> dict[str, int]:
    """What the worker's tick does, minus the periodic checks: dispatch, expand, send."""
    from dagr.notifications import delivery, dispatch, services

    notified = dispatch.dispatch_all()
    expanded = 0
    while made := services.newsletters_expand():
        expanded += made
    sent = 0
    while True:
        counts = delivery.deliveries_send()
        sent += counts["sent"]
        if not any(counts.values()):
            break
    return {"notified": notified, "expanded": expanded, "sent": sent}


def parts(message: Message) -> dict[str, str]:
    """content type → decoded text of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative", message.get_content_type()
    found = {}
    for part in message.get_payload():  # type: ignore[union-attr]
        payload = part.get_payload(decode=True)
        found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found
