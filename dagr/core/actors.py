"""The system actor: used by the CLI, the demo loader and background tasks acting on their own.
Rules treat it as a portal administrator; audit entries name it "system"."""

from __future__ import annotations


class SystemActor:
    pk = None
    id = None
    is_authenticated = True
    is_active = True
    is_portal_admin = True
    is_system = True
    email = "system"
    full_name = "system"

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()
