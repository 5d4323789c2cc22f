"""How two versions of a dataset's schema differ (``schema_changes``): a pure comparison, used by
the schema-update service (which refuses breaking changes that stored records do not allow) and
by the schema history and preview selectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .schema import FieldDef, SchemaDef

CHANGE_MESSAGES: dict[str, Any] = {
    "field_added": _("field %(path)s added"),
    "required_field_added": _("required field %(path)s added"),
    "field_removed": _("field %(path)s removed"),
    "type_changed": _("field %(path)s: type changed from %(old)s to %(new)s"),
    "now_required": _("field %(path)s is now required"),
    "now_optional": _("field %(path)s is no longer required"),
    "identifier_changed": _("field %(path)s: identifier kind changed from %(old)s to %(new)s"),
    "personal_changed": _("field %(path)s: personal data mark changed from %(old)s to %(new)s"),
    "texts_changed": _("field %(path)s: titles or descriptions changed"),
    "order_changed": _("order of the fields in %(path)s changed"),
    "key_changed": _("key field changed from %(old)s to %(new)s"),
}


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One difference between two schemas. ``breaking`` changes may make stored records
    invalid; they are checked against the stored records before they are accepted."""

    code: str
    path: str
    breaking: bool = False
    old: Any = None
    new: Any = None

    @property
    def message(self) -> str:
        def show(value: Any) -> str:
            if value is None:
                return gettext("none")
            if isinstance(value, bool):
                return gettext("yes") if value else gettext("no")
            return str(value)

        template = str(CHANGE_MESSAGES[self.code])
        return template % {
            "path": self.path or gettext("the top level"),
            "old": show(self.old),
            "new": show(self.new),
        }

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "path": self.path,
            "breaking": self.breaking,
            "old": self.old,
            "new": self.new,
        }


def schema_changes(old: SchemaDef, new: SchemaDef) -> list[SchemaChange]:
    """Every difference between two schemas, breaking ones marked; empty when they describe the
    same document."""
    changes: list[SchemaChange] = []
    if old.key != new.key:
        changes.append(SchemaChange("key_changed", "", True, old.key, new.key))
    _compare_fields(old.fields, new.fields, "", changes)
    return changes


_TEXTS = ("title_lv", "title_en", "description_lv", "description_en")


def _compare_fields(
    old: list[FieldDef], new: list[FieldDef], prefix: str, out: list[SchemaChange]
) -> None:
    old_by, new_by = {f.name: f for f in old}, {f.name: f for f in new}
    for f in old:
        if f.name not in new_by:
            out.append(SchemaChange("field_removed", prefix + f.name, True))
    for f in new:
        path = prefix + f.name
        before = old_by.get(f.name)
        if before is None:
            code = "required_field_added" if f.required else "field_added"
            out.append(SchemaChange(code, path, f.required))
            continue
        if before.type != f.type:
            out.append(SchemaChange("type_changed", path, True, before.type, f.type))
        if before.required != f.required:
            code = "now_required" if f.required else "now_optional"
            out.append(SchemaChange(code, path, f.required))
        if before.identifier != f.identifier:
            out.append(
                SchemaChange(
                    "identifier_changed",
                    path,
                    f.identifier is not None,
                    before.identifier,
                    f.identifier,
                )
            )
        if before.personal != f.personal:
            out.append(SchemaChange("personal_changed", path, False, before.personal, f.personal))
        if any(getattr(before, t) != getattr(f, t) for t in _TEXTS):
            out.append(SchemaChange("texts_changed", path))
        if before.type == f.type == "list":
            _compare_fields(before.fields or [], f.fields or [], path + ".", out)
    kept_old = [f.name for f in old if f.name in new_by]
    kept_new = [f.name for f in new if f.name in old_by]
    if kept_old != kept_new:
        out.append(SchemaChange("order_changed", prefix.removesuffix(".")))
