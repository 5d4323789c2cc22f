"""Who acts, as a type, and the system actor.

Services and rules take an ``Actor``: whoever acts, with exactly what they read from it. Three
kinds satisfy it (core imports no app, so a Protocol rather than a union of their classes):

- a person signed in to the portal (``dagr.accounts.models.User``; ``pk`` is the user's id),
- the system (``SYSTEM`` below): the CLI, the demo loader and background tasks acting on their
  own; rules treat it as a portal administrator, audit entries name it "system",
- a technical connection acting through the API (``dagr.records.services.ConnectionActor``):
  a ``ConnectionActing``; rules decide by its institution and kind (``is_connection``).

Rules answer for anyone, also for a visitor who is not signed in (``Visitor``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from typing_extensions import TypeIs


class Actor(Protocol):
    """What services and rules rely on. ``pk`` is a portal user's id, ``None`` for the system
    and for a connection (audit then keeps only the actor's ``str``). Memberships are looked up
    by ``pk`` in ``dagr.permissions.rules``, never read from the actor."""

    @property
    def pk(self) -> int | None: ...

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_active(self) -> bool: ...

    @property
    def is_portal_admin(self) -> bool: ...


class ConnectionActing(Actor, Protocol):
    """A technical connection acting for its institution (``kind``: "provider"/"recipient")."""

    @property
    def is_connection(self) -> bool: ...

    @property
    def institution_id(self) -> int: ...

    @property
    def kind(self) -> str: ...


def is_connection(actor: object) -> TypeIs[ConnectionActing]:
    """Whether a technical connection acts (rather than a person or the system)."""
    return bool(getattr(actor, "is_connection", False))


# Whom a rule may be asked about: an actor, a visitor who is not signed in (Django's
# ``AnonymousUser`` on ``request.user``) or nobody. (A lazy alias: AnonymousUser is a model
# module that cannot be imported before the apps are ready.)
type Visitor = Actor | AnonymousUser | None


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
