"""Shared fixtures: real services (PostgreSQL, MariaDB, SMTP on loopback, headless Chromium).

Outside CI a missing PostgreSQL/MariaDB skips the tests that need it, with a reason in the
summary; under CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run from
# such a thread unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def require_service(name: str, host: str, port: int) -> None:
    """Skip (laptop) or fail (CI) when a real service is not reachable."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        message = f"{name} is not reachable at {host}:{port}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: real services are required)")
        pytest.skip(message)


# --- two-factor enforcement ------------------------------------------------------------------
# Production requires two-factor authentication of administrators and signatories
# (settings.DAGR_TWO_FACTOR_ENFORCE, on by default). The suite logs such users in with
# force_login, so it runs with enforcement off; a test of the enforcement itself asks for the
# `two_factor_enforced` fixture (tests/accounts/test_two_factor.py). README, "Two-factor".


@pytest.fixture(autouse=True)
def _two_factor_not_enforced(settings: Any) -> None:
    settings.DAGR_TWO_FACTOR_ENFORCE = False


@pytest.fixture
def two_factor_enforced(settings: Any) -> None:
    settings.DAGR_TWO_FACTOR_ENFORCE = True


# Tests that run the task worker in-process (`call_command("db_worker", …)`) leave its
# graceful-shutdown handlers installed in the test process; restore them after every test, so
# that SIGTERM and Ctrl-C act on the suite as usual and later forks do not inherit them.
_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGQUIT")


@pytest.fixture(autouse=True)
def _signal_handlers_restored() -> Iterator[None]:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    numbers = [getattr(signal, name) for name in _STOP_SIGNALS if hasattr(signal, name)]
    before = {number: signal.getsignal(number) for number in numbers}
    yield
    for number, handler in before.items():
        if signal.getsignal(number) is not handler and handler is not None:
            signal.signal(number, handler)


# --- passwords: Argon2 is deliberately slow; hash the shared test password once ---------------
TEST_PASSWORD = "Parole-Test-2026!"
_HASH_CACHE: dict[str, str] = {}


def hashed_test_password() -> str:
    from django.contrib.auth.hashers import make_password

    if TEST_PASSWORD not in _HASH_CACHE:
        _HASH_CACHE[TEST_PASSWORD] = make_password(TEST_PASSWORD)
    return _HASH_CACHE[TEST_PASSWORD]


# --- SMTP: a real SMTP server on loopback (aiosmtpd) -----------------------------------------


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port for its start-up check
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": "127.0.0.1",
                "port": port,
                "use_tls": False,
                "timeout": 10,
            },
        }
    }
    try:
        yield mailbox
    finally:
        controller.stop()


# --- Browser: Debian's Chromium driven by Playwright ------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (make test installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


# Chromium reports every Content-Security-Policy violation as a console error ("Refused to ...
# because it violates the following Content Security Policy directive"); the listener below
# also reports the page's `securitypolicyviolation` events. Every browser test fails on one.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""


def csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or "CSP violation" in m]


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(locale="lv-LV", base_url=live_server.url)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(10_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.console_messages_seen = console  # for tests that check the console themselves
    try:
        yield page
    finally:
        context.close()
    assert not csp_violations(console), csp_violations(console)


def assert_accessible(page: Any) -> None:
    """Run axe-core (shipped inside axe-playwright-python) on the current page: no WCAG 2.1 A/AA
    violations allowed."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
        },
    )
    violations = results.response.get("violations", [])
    assert not violations, "\n".join(
        f"{v['id']}: {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in violations
    )


# --- a real database failure for the access audit ----------------------------------------------


@pytest.fixture
def audit_table_refuses_inserts(db: Any) -> Iterator[None]:
    """A trigger makes the database itself refuse every insert into the access audit table —
    a real failure of the write, not a stub of our code (rolled back with the test)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION dagr_refuse_audit() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'audit storage unavailable'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER dagr_refuse_audit BEFORE INSERT ON audit_accessentry "
                "FOR EACH ROW EXECUTE FUNCTION dagr_refuse_audit()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER dagr_refuse_audit BEFORE INSERT ON audit_accessentry "
                "BEGIN SELECT RAISE(ABORT, 'audit storage unavailable'); END"
            )
    yield


@pytest.fixture
def walfile(tmp_path: Any, django_db_blocker: Any) -> Iterator[Any]:
    """A SQLite database file in WAL mode with the settings' connection options and a table
    ``t`` (``tests/walfile.py``) — on the PostgreSQL run of the suite as well."""
    from tests.walfile import wal_database

    with django_db_blocker.unblock(), wal_database(tmp_path / "wal.sqlite3") as db:
        yield db
