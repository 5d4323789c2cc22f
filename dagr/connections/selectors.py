from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from dagr.core.actors import Actor
from dagr.core.errors import NotFound
from dagr.permissions import rules

from .models import Connection


def connection_list_for(*, actor: Actor) -> QuerySet[Connection]:
    """The connections the actor may manage: of the institutions where the actor is a provider
    representative (provider systems) or a recipient representative (recipient systems)."""
    qs = Connection.objects.select_related("institution").order_by("institution__name", "name")
    visible = rules.connection_visibility(actor)
    return qs if visible is None else qs.filter(visible)


def connection_get_for(*, actor: Actor, pk: int) -> Connection:
    """A connection the actor may manage; a missing one and another's look the same."""
    connection = Connection.objects.select_related("institution").filter(pk=pk).first()
    if connection is None or not rules.can_manage_connections_of(
        actor, connection.institution, connection.kind
    ):
        raise NotFound(_("Technical connection not found."))
    return connection
