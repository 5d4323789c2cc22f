"""Per-field anonymisation rules, with defaults inferred from the dataset schema.

A rule set maps a field path (``personal_code``, ``board_members.personal_code``) to a ``Rule``.
Kinds: ``keep`` (non-personal fields only), ``pseudonymise`` (keyed, valid value of the same
identifier kind), ``fake`` (names, e-mails, phones, …), ``generalise`` (date → month/year,
number → band), ``date_shift`` (per-person), ``mask``, ``null``, ``constant``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

RuleKind = Literal[
    "keep", "pseudonymise", "fake", "generalise", "date_shift", "mask", "null", "constant"
]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RuleKind
    # kind-specific settings: fake → {"generator": "first_name"|…}; generalise →
    # {"level": "month"|"year"} or {"band": 10}; mask → {"keep_start": 0, "keep_end": 0};
    # constant → {"value": …}
    params: dict[str, Any] = {}


RuleSet = dict[str, Rule]
