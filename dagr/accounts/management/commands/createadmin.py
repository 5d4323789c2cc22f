"""``dagr createadmin --email admin@example.lv [--password …]``: create a portal administrator (or
make an existing user one). Prompts for the password when it is not given; weak passwords are
refused by the configured validators."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dagr.accounts import services
from dagr.accounts.models import User
from dagr.core.actors import SYSTEM
from dagr.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a portal administrator (or make an existing user one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help="prompted for when not given")
        parser.add_argument("--first-name", default="Portāla")
        parser.add_argument("--last-name", default="administrators")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        existing = User.objects.filter(email__iexact=email).first()
        try:
            if existing is not None:
                self._promote(existing)
                return
            password = options["password"] or self._prompt()
            user = services.user_create(
                actor=SYSTEM,
                email=email,
                first_name=options["first_name"],
                last_name=options["last_name"],
                password=password,
                is_portal_admin=True,
            )
        except DomainError as exc:
            details = "; ".join(str(e["message"]) for e in exc.errors)
            raise CommandError(f"{exc.message}{': ' + details if details else ''}") from exc
        self.stdout.write(self.style.SUCCESS(f"Portal administrator {user.email} created."))

    def _promote(self, user: User) -> None:
        if user.is_portal_admin and user.status == User.Status.ACTIVE:
            self.stdout.write(f"{user.email} is already an active portal administrator.")
            return
        if not user.is_portal_admin:
            services.user_update(actor=SYSTEM, user=user, is_portal_admin=True)
        if user.status != User.Status.ACTIVE:
            services.user_set_status(
                actor=SYSTEM, user=user, status=User.Status.ACTIVE, reason="createadmin"
            )
        self.stdout.write(self.style.SUCCESS(f"{user.email} is now a portal administrator."))

    def _prompt(self) -> str:
        if not self.stdin_is_interactive():
            raise CommandError("Give --password (standard input is not a terminal).")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return password

    @staticmethod
    def stdin_is_interactive() -> bool:
        import sys

        return sys.stdin.isatty()
