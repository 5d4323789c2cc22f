"""The portal's texts of connector log lines, by the code the engine gives each line
(``dagr_agent.connector.engine.LOG_CODES``): a line is stored with its code and parameters and
rendered in the reader's language (Latvian first, English second). A line without a code, or
with one this catalogue does not know (an older or newer agent), shows its English message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

LOG_TEXTS: dict[str, Promise] = {
    "drift.new": _("Schema drift: new source column %(column)s (%(found)s)"),
    "drift.missing": _("Schema drift: source column %(column)s is missing"),
    "drift.retyped": _(
        "Schema drift: source column %(column)s changed type from %(expected)s to %(found)s"
    ),
    "proposal": _("Proposed schema change: %(fields)s"),
    "read.saved": _("Reading rows with %(column)s after %(after)s (saved state)"),
    "read.start": _(
        "No saved state: reading rows with %(column)s after %(after)s (configured start)"
    ),
    "read.all": _("No saved state: reading every row"),
    "read.snapshot": _("Full snapshot: reading every row"),
    "row.invalid": _("Row %(row)s is not valid: %(problems)s"),
    "summary": _(
        "Read %(rows)s rows: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
        "%(deleted)s deleted, %(invalid)s invalid."
    ),
    "failed": _("The run failed: %(error)s"),
    "failed.timeout": _("The run took longer than its timeout of %(seconds)s s."),
    "failed.cursor_order": _(
        "The source returned %(column)s=%(value)s after %(after)s: it is not ordered by its "
        "change column."
    ),
    "failed.invalid_records": _(
        "%(count)s rows are not valid; nothing of this unit was loaded (see the errors above)."
    ),
    "failed.schema_drift": _("The run stopped because of schema drift: %(drift)s"),
    "lines.dropped": _("%(count)s more log lines were not kept."),
    "remote.start": _("Remote run of connector %(connector)s (%(name)s)"),
}


def log_text(code: str, params: Mapping[str, Any] | None, message: str) -> str:
    """The line's text in the active language; its stored English ``message`` when the code is
    unknown or its parameters do not fit the text."""
    template = LOG_TEXTS.get(code) if code else None
    if template is None:
        return message
    try:
        return str(template) % {k: "" if v is None else v for k, v in (params or {}).items()}
    except (KeyError, TypeError, ValueError):
        return message
