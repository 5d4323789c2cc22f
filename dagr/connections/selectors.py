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
    if rules.is_portal_admin(actor):
        return qs
    provider_ids = rules.institution_ids_with_role(actor, rules.Role.PROVIDER)
    recipient_ids = rules.institution_ids_with_role(actor, rules.Role.RECIPIENT)
    return qs.filter(
        pk__in=Connection.objects.filter(
            institution_id__in=provider_ids, kind=Connection.Kind.PROVIDER
        ).values("pk")
    ) | qs.filter(institution_id__in=recipient_ids, kind=Connection.Kind.RECIPIENT)


def connection_get_for(*, actor: Actor, pk: int) -> Connection:
    """A connection the actor may manage; a missing one and another's look the same."""
    connection = Connection.objects.select_related("institution").filter(pk=pk).first()
    if connection is None or not rules.can_manage_connections_of(
        actor, connection.institution, connection.kind
    ):
        raise NotFound(_("Technical connection not found."))
    return connection
