"""``dagr demo``: demo institutions, users for every role and three linked demo datasets."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from dagr.accounts.twofactor import current_code
from dagr.anonymisation.models import Release
from dagr.core.errors import DomainError
from dagr.demo.services import DEMO_TOTP_SECRET, DemoReport, DemoSizes, demo_create


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


class Command(BaseCommand):
    help = (
        "Create demo institutions, users for every role and three linked, fictitious demo "
        "datasets (addresses, persons, companies). Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=2000, help="persons (default 2000)")
        parser.add_argument(
            "--companies", type=int, default=None, help="companies (default persons/10, ≥ 50)"
        )
        parser.add_argument(
            "--addresses", type=int, default=None, help="addresses (default persons/2, ≥ 200)"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--two-factor-code",
            action="store_true",
            help="only print the current two-factor code of the demo authenticator",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["two_factor_code"]:
            self.stdout.write(current_code(DEMO_TOTP_SECRET))
            return
        for name in ("persons", "companies", "addresses"):
            if options[name] is not None and options[name] < 1:
                raise CommandError(_("--%(name)s must be at least 1.") % {"name": name})
        sizes = DemoSizes(
            persons=options["persons"],
            companies=options["companies"],
            addresses=options["addresses"],
            seed=options["seed"],
        )
        started = time.perf_counter()
        try:
            report = demo_create(sizes=sizes, progress=lambda m: self.stdout.write(m))
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self._print(report, time.perf_counter() - started)

    def _print(self, report: DemoReport, seconds: float) -> None:
        new, kept = pgettext("demo object", "created"), _("already there")
        self.stdout.write("\n" + _("Institutions"))
        self.stdout.write(
            _table(
                [_("name"), _("registration number"), _("kind"), ""],
                [[n, r, k, new if c else kept] for n, r, k, c in report.institutions],
            )
        )
        self.stdout.write("\n" + _("Datasets"))
        self.stdout.write(
            _table(
                [
                    _("code"),
                    _("records"),
                    _("created"),
                    _("updated"),
                    _("unchanged"),
                    _("seconds"),
                    _("records/s"),
                ],
                [
                    [
                        code,
                        f"{live:,}",
                        f"{c:,}",
                        f"{u:,}",
                        f"{same:,}",
                        f"{secs:.1f}",
                        f"{(c + u + same) / secs:,.0f}" if loaded and secs else "—",
                    ]
                    if loaded
                    else [code, f"{live:,}", "—", "—", "—", "—", _("already loaded")]
                    for code, live, c, u, same, secs, loaded in report.datasets
                ],
            )
        )
        if report.test_data is not None:
            number, status, k, _new = report.test_data
            self.stdout.write(
                "\n"
                + _(
                    "Test data: release #%(number)s %(status)s (k = %(k)s; birth decade and "
                    "gender as quasi-identifiers), /test-data/"
                )
                % {
                    "number": number,
                    "status": Release.Status(status).label,
                    "k": k if k is not None else "—",
                }
            )
        if report.open_data:
            self.stdout.write("\n" + _("Open data descriptions (DCAT-AP 3, /catalog.ttl)"))
            self.stdout.write(
                _table(
                    [_("dataset"), _("quality score"), _("published")],
                    [
                        [code, f"{score} / 405", _("yes") if published else _("no")]
                        for code, score, published in report.open_data
                    ],
                )
            )
        created, updated, same = report.help_articles
        self.stdout.write(
            "\n"
            + _("Help articles: %(created)s created, %(updated)s updated, %(same)s kept; /help/")
            % {"created": created, "updated": updated, "same": same}
        )
        self.stdout.write("\n" + _("Demo logins (every demo user has the same password)"))
        self.stdout.write(
            _table(
                [_("e-mail"), _("password"), _("roles")],
                [
                    [email, password, "; ".join(roles)]
                    for email, password, roles, _c in report.users
                ],
            )
        )
        self.stdout.write(
            "\n"
            + _(
                "Administrators and signatories log in with a two-factor code: add the demo "
                "secret %(secret)s to an authenticator app, or print the current code with "
                "`.venv/bin/dagr demo --two-factor-code`."
            )
            % {"secret": DEMO_TOTP_SECRET}
        )
        self.stdout.write("\n" + _("Done in %(seconds).1f s.") % {"seconds": seconds})
