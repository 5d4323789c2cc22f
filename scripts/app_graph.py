"""Write docs/app-dependencies.md: which DAGR app imports which, from the code itself.

Reads the import graph with grimp (import-linter's own graph library, so the picture and the
contracts in pyproject.toml see the same imports: imports under ``if TYPE_CHECKING:`` are left
out, as there). ``accounts.models`` is its own node because permissions sits between accounts'
models and the rest of accounts (docs/architecture.md).

    python scripts/app_graph.py           # rewrite the file (`make deps-graph`)
    python scripts/app_graph.py --check   # fail when the committed file differs (`make lint`)
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "app-dependencies.md"
SPLIT = ("dagr.accounts.models",)  # modules drawn as their own node
NOT_APPS = {"dagr", "dagr.cli"}  # the package itself and the console entry point


def node_of(module: str) -> str | None:
    for split in SPLIT:
        if module == split or module.startswith(split + "."):
            return split.removeprefix("dagr.")
    parts = module.split(".")
    if ".".join(parts[:2]) in NOT_APPS or len(parts) < 2:
        return None
    return parts[1]


def app_edges() -> dict[str, set[str]]:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("dagr", cache_dir=None, exclude_type_checking_imports=True)
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        source = node_of(module)
        if source is None:
            continue
        edges.setdefault(source, set())
        for imported in graph.find_modules_directly_imported_by(module):
            target = node_of(imported)
            if target is not None and target != source:
                edges[source].add(target)
    return edges


def render(edges: dict[str, set[str]]) -> str:
    lines = [
        "# App dependencies",
        "",
        "Generated from the code by `scripts/app_graph.py` (`make deps-graph`); `make lint` fails",
        "when this file differs from what the code says. An arrow `a --> b` means a module of `a`",
        "imports a module of `b` (imports only for type annotations are left out). The order they",
        "must keep is the `app-layers` contract in `pyproject.toml`, explained in",
        "[architecture.md](architecture.md#apps-and-their-dependencies).",
        "",
        "```mermaid",
        "flowchart BT",
    ]
    lines += [f"  {a.replace('.', '_')}[{a}]" for a in sorted(edges)]
    for source in sorted(edges):
        for target in sorted(edges[source]):
            lines.append(f"  {source.replace('.', '_')} --> {target.replace('.', '_')}")
    lines += ["```", "", "| app | imports |", "|---|---|"]
    for source in sorted(edges):
        targets = ", ".join(f"`{t}`" for t in sorted(edges[source])) or "—"
        lines.append(f"| `{source}` | {targets} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(app_edges())
    if "--check" in argv:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            sys.stderr.write(
                f"{TARGET.relative_to(ROOT)} is out of date with the imports: "
                "run `make deps-graph` and commit it.\n"
            )
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
