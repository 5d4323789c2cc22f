"""How the data viewer shows records: columns of the granted top-level fields with their titles,
nested lists as readable lists of "title: value" items. Presentation only — the records come
from ``services`` exactly as the API returns them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dagr.catalog.selectors import schema_rows
from dagr.grants.fields import FieldTree, field_tree
from dagr.grants.selectors import describe_condition

from .datasets import DatasetInfo


@dataclass
class Column:
    name: str
    title: str
    nested: list[tuple[str, str]] = field(default_factory=list)  # (name, title) of list items


@dataclass
class Cell:
    text: str = ""
    items: list[list[tuple[str, str]]] | None = None  # a nested list: items of (title, text)


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def titles(dataset: DatasetInfo) -> dict[str, str]:
    return {row.path: row.title for row in schema_rows(dataset.schema)}


def columns(dataset: DatasetInfo, tree: FieldTree) -> list[Column]:
    names = titles(dataset)
    out: list[Column] = []
    for f in dataset.schema.fields:
        if f.name not in tree:
            continue
        sub = tree[f.name]
        nested = [
            (child.name, names.get(f"{f.name}.{child.name}", child.name))
            for child in f.fields or []
            if sub is not None and child.name in sub
        ]
        out.append(Column(f.name, names.get(f.name, f.name), nested))
    return out


def _items(value: Any, column: Column) -> list[list[tuple[str, str]]]:
    rows: list[list[tuple[str, str]]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            rows.append(
                [(title, _text(item[name])) for name, title in column.nested if name in item]
            )
        else:
            rows.append([("", _text(item))])
    return rows


def table(
    records: list[dict[str, Any]], cols: list[Column], dataset: DatasetInfo
) -> list[list[Cell]]:
    out: list[list[Cell]] = []
    for record in records:
        row: list[Cell] = []
        for column in cols:
            value = record.get(column.name)
            if column.nested or isinstance(value, list):
                row.append(Cell(items=_items(value, column)))
            else:
                row.append(Cell(text=_text(value) if column.name in record else "—"))
        out.append(row)
    return out


def viewer_context(dataset: DatasetInfo, grant: Any) -> dict[str, Any]:
    """What the viewer page needs besides the result: the choices of its two forms, the columns
    of the table and the grant's conditions in words."""

    names = titles(dataset)
    tree = field_tree(grant.fields)
    filterable = [
        (f.name, names.get(f.name, f.name))
        for f in dataset.schema.fields
        if f.name in tree and f.type not in ("list", "datetime")
    ]
    return {
        "grant": grant,
        "dataset": grant.dataset,
        "identifiers": [
            (path, f"{names.get(path, path)} ({path})") for path in dataset.identifier_paths
        ],
        "filterable": filterable,
        "columns": columns(dataset, tree),
        "conditions": [describe_condition(c, names) for c in grant.conditions],
    }


def next_page(params: Any, result: Any) -> list[tuple[str, str]]:
    """The form fields (name, value) that ask for the next page, or [] on the last one.

    Posted as hidden fields, not a link: the filters may hold personal identifiers."""
    cursor = getattr(result, "next_cursor", None)
    if not cursor:
        return []
    fields = [
        (name, value)
        for name, values in params.lists()
        if name not in {"cursor", "csrfmiddlewaretoken"}
        for value in values
    ]
    return [*fields, ("cursor", cursor)]
