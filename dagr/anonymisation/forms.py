"""Reading the test data settings form: one row per field path (its rule, its parameters, whether
it is a quasi-identifier and at which level, whether it is sensitive), plus k. Parsing only; the
service validates (``services.settings_update``)."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import QueryDict
from django.utils.translation import gettext as _

from .spec import QI_LEVELS as _LEVELS

QI_LEVELS = ("", *_LEVELS)  # "" in the form: not a quasi-identifier


def parse_settings(
    data: QueryDict, *, dataset_code: str, paths: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values for settings_update, errors by field path)``; parameters are JSON objects."""
    rules: dict[str, Any] = {}
    errors: dict[str, str] = {}
    qis: list[dict[str, str]] = []
    for path in paths:
        kind = data.get(f"rule__{path}", "")
        raw = (data.get(f"params__{path}", "") or "").strip()
        params: Any = {}
        if raw:
            try:
                params = orjson.loads(raw)
            except orjson.JSONDecodeError:
                params = None
            if not isinstance(params, dict):
                errors[path] = _('Write the parameters as a JSON object, e.g. {"level": "year"}.')
                continue
        if kind:
            rules[path] = {"kind": kind, "params": params}
        level = data.get(f"qi__{path}", "")
        if level:
            qis.append({"dataset": dataset_code, "path": path, "level": level})
    raw_k = data.get("k", "")
    k = int(raw_k) if raw_k.isascii() and raw_k.isdigit() and len(raw_k) < 8 else 0
    values = {
        "rules": rules,
        "quasi_identifiers": qis,
        "sensitive": [p for p in data.getlist("sensitive") if p in paths],
        "k": k,
    }
    return values, errors


def params_text(params: dict[str, Any]) -> str:
    """A rule's parameters as the form shows them (JSON; empty when there are none)."""
    return orjson.dumps(params).decode() if params else ""
