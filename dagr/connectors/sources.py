"""Opening a connector's source on the server: the agent's source registry
(``dagr_agent.connector.sources.base.source_open``), plus kinds registered here by name
(``register_source``: tests and the benchmark add small generated sources)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings

Factory = Callable[[Mapping[str, Any], Mapping[str, str]], Any]
_EXTRA: dict[str, Factory] = {}


def register_source(kind: str, factory: Factory) -> None:
    _EXTRA[kind] = factory


def source_open(kind: str, options: Mapping[str, Any], secrets: Mapping[str, str]) -> Any:
    for path in getattr(settings, "DAGR_CONNECTOR_SOURCE_MODULES", ()):
        importlib.import_module(path)  # such a module calls register_source
    if kind in _EXTRA:
        return _EXTRA[kind](options, secrets)
    # the agent's registry (dagr_agent.connector.sources), looked up when first needed: its
    # drivers are optional extras, so importing it is left to the first real run
    agent_sources = importlib.import_module("dagr_agent.connector.sources.base")
    return agent_sources.source_open(kind, options, secrets)
