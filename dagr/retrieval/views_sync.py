"""The sync connector's configuration for a recipient representative (DU-14): their
institutions' usable grants as a ready ``sync.yaml`` (``docs/sync.md``). The file never holds
a secret: the connector reads it from ``DAGR_CLIENT_SECRET``; the client id is one of the
institution's recipient systems (chosen on the page) or a placeholder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.connections.models import Connection
from dagr.connections.selectors import connection_list_for
from dagr.grants.models import Grant
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, requires
from dagr_agent.sync.config import default_table_name

from . import selectors

CLIENT_ID_PLACEHOLDER = "REPLACE-WITH-YOUR-CLIENT-ID"
SECRET_ENV = "DAGR_CLIENT_SECRET"  # noqa: S105 (a variable name, not a secret)
TARGET_EXAMPLE = "postgresql+psycopg://sync_user@localhost:5432/registers"


@dataclass
class InstitutionConfig:
    institution: Any
    grants: list[Grant]
    connections: list[Connection]
    connection: Connection | None
    text: str


def sync_config_yaml(*, grants: list[Grant], client_id: str, institution_name: str) -> str:
    """The ``sync.yaml`` for ``grants`` (one institution's), with translated comments."""
    document = {
        "dagr": {
            "url": settings.SITE_URL.rstrip("/"),
            "client_id": client_id,
            "client_secret_env": SECRET_ENV,
        },
        "target": {"url": TARGET_EXAMPLE},
        "datasets": [
            {
                "code": g.dataset.code,
                "permission_number": g.permission_number,
                "table": default_table_name(g.dataset.code),
                "page_size": 5000,
            }
            for g in grants
        ],
        "interval_seconds": 300,
    }
    header = [
        _("DAGR sync connector configuration for %(name)s (generated %(date)s).")
        % {"name": institution_name, "date": timezone.localdate().isoformat()},
        _("Set target.url to your database (PostgreSQL, MariaDB/MySQL or SQLite)."),
        _("The secret is not in this file: put it in the environment variable %(env)s.")
        % {"env": SECRET_ENV},
        _("Run: dagr sync --config sync.yaml --continuous"),
    ]
    comments = "".join(f"# {line}\n" for line in header)
    return comments + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _configs(request: ActorRequest) -> list[InstitutionConfig]:
    user = request.user
    by_institution: dict[int, list[Grant]] = {}
    institutions: dict[int, Any] = {}
    for item in selectors.viewer_grants(actor=user):
        if item.usable:
            by_institution.setdefault(item.grant.recipient_id, []).append(item.grant)
            institutions[item.grant.recipient_id] = item.grant.recipient
    connections = list(
        connection_list_for(actor=user).filter(
            kind=Connection.Kind.RECIPIENT,
            status=Connection.Status.ACTIVE,
            institution_id__in=list(by_institution),
        )
    )
    chosen = request.GET.get("connection", "")
    out = []
    for pk, grants in by_institution.items():
        own = [c for c in connections if c.institution_id == pk]
        connection = next((c for c in own if str(c.pk) == chosen), None)
        if connection is None and len(own) == 1:
            connection = own[0]
        text = sync_config_yaml(
            grants=grants,
            client_id=connection.client_id if connection else CLIENT_ID_PLACEHOLDER,
            institution_name=institutions[pk].name,
        )
        out.append(InstitutionConfig(institutions[pk], grants, own, connection, text))
    return out


@requires(rules.can_view_granted_data)
def sync_config(request: ActorRequest) -> HttpResponse:
    configs = _configs(request)
    wanted = request.GET.get("download", "")
    for config in configs:
        if wanted and wanted == str(config.institution.pk):
            response = HttpResponse(config.text, content_type="application/yaml; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="sync.yaml"'
            return response
    return render(
        request,
        "retrieval/sync_config.html",
        {"configs": configs, "secret_env": SECRET_ENV, "placeholder": CLIENT_ID_PLACEHOLDER},
    )
