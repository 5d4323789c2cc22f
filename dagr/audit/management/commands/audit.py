"""``dagr audit verify``: check the tamper-evident access audit; exit status 1 on any problem."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dagr.audit.access import audit_verify


class Command(BaseCommand):
    help = "Audit tools. `dagr audit verify` recomputes the access audit hash chains."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        for problem in report.problems:
            self.stderr.write(problem)
        summary = f"{report.entries} entries in {report.segments} segments checked"
        if not report.ok:
            raise CommandError(f"audit chain broken: {len(report.problems)} problems; {summary}")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {summary}"))
