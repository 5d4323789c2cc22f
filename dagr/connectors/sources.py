"""Opening a connector's source on the server: the agent's source registry
(``dagr_agent.connector.sources.source_open``: sql, file, http), plus kinds registered here by name
(``register_source``: tests and the benchmark add small generated sources)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings

from dagr_agent.connector.sources import source_open as agent_source_open

Factory = Callable[[Mapping[str, Any], Mapping[str, str]], Any]
_EXTRA: dict[str, Factory] = {}


def register_source(kind: str, factory: Factory) -> None:
    _EXTRA[kind] = factory


def source_open(kind: str, options: Mapping[str, Any], secrets: Mapping[str, str]) -> Any:
    for path in getattr(settings, "DAGR_CONNECTOR_SOURCE_MODULES", ()):
        importlib.import_module(path)  # such a module calls register_source
    if kind in _EXTRA:
        return _EXTRA[kind](options, secrets)
    return agent_source_open(kind, options, secrets)
