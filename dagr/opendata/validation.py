"""SHACL validation of DCAT-AP graphs with pyshacl against the official DCAT-AP 3.0.1 shapes,
shipped in ``shapes/`` (copied unchanged from SEMICeu/DCAT-AP, CC BY 4.0; ``shapes/NOTICE.md``):

- ``dcat-ap-SHACL.ttl``: the mandatory properties (``sh:minCount``), cardinalities and datatypes;
- ``ranges.ttl``: the classes of the values (``sh:class``), meant to be loaded with the file above;
- ``shapes_recommended.ttl``: the recommended properties (severity Warning);
- ``mdr-vocabularies.shape.ttl``: the EU controlled vocabularies (``skos:inScheme``).

**ranges.ttl as published does not load in pyshacl** (0.40.1): its node shapes link, by
``sh:property``, 297 property-shape IRIs: 91 are defined in ranges.ttl itself, 201 in
dcat-ap-SHACL.ttl (which shares the node shapes' IRIs), and 5 are defined nowhere — no file gives
them a ``sh:path`` (e.g. ``…#dcat:DistributionShape/653804840386e33525b3d39d205c174780be414b``; the
release's generator left links to property shapes it did not emit). pyshacl, rightly by the SHACL
spec, refuses a ``sh:property`` value that is not a well-formed property shape ("… exists but is
not a well-formed SHACL PropertyShape") and stops, alone or merged with dcat-ap-SHACL.ttl. What
we do: the file stays byte-for-byte as published; when the shapes are loaded,
``_drop_dangling_properties`` removes the ``sh:property`` links to IRIs with no ``sh:path``
anywhere in the merged shapes graph (exactly those 5; tests/opendata/test_graph.py pins the
number and that the published file fails). Nothing is lost: a shape without a path constrains
nothing.

Speed: the merged shapes graph is parsed once per process. Each dataset is validated on its own
graph (so a violation is known to be that dataset's); ``validate_many`` validates many datasets in
one pyshacl run over the union of their graphs and splits the results back by focus node, which
costs a fraction of one run per dataset. Results are cached per dataset with the graph's hash
(``DatasetMetadata.validated_hash``), so only changed datasets are validated again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyshacl import validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, RDF, SH

SHAPES_DIR = Path(__file__).resolve().parent / "shapes"
SHAPE_FILES = (
    "dcat-ap-SHACL.ttl",
    "ranges.ttl",
    "shapes_recommended.ttl",
    "mdr-vocabularies.shape.ttl",
)

_lock = threading.Lock()
_shapes: Graph | None = None


def _drop_dangling_properties(g: Graph) -> int:
    """Remove ``sh:property`` links to IRIs that are not property shapes (no ``sh:path``): the
    published ranges.ttl has 5. Returns how many were removed."""
    dangling = [
        (s, o)
        for s, o in g.subject_objects(SH.property)
        if isinstance(o, URIRef) and (o, SH.path, None) not in g
    ]
    for s, o in dangling:
        g.remove((s, SH.property, o))
    return len(dangling)


def load_shapes(files: tuple[str, ...] = SHAPE_FILES) -> tuple[Graph, int]:
    """Parse and merge the shape files; returns the graph and the dangling links dropped."""
    g = Graph()
    for name in files:
        g.parse(SHAPES_DIR / name, format="turtle")
    return g, _drop_dangling_properties(g)


def shapes() -> Graph:
    """The merged shapes graph, parsed once per process."""
    global _shapes
    with _lock:
        if _shapes is None:
            _shapes = load_shapes()[0]
        return _shapes


@dataclass(frozen=True, slots=True)
class Finding:
    """One SHACL result, reduced to what the form needs."""

    severity: str  # "violation" | "warning" | "info"
    focus: str  # IRI of the node (the dataset, a distribution, the contact point …)
    path: str  # IRI of the property ("" for a node-level result)
    constraint: str  # local name of the constraint component, e.g. MinCountConstraintComponent
    message: str  # the shape's own message (English), kept for the record

    @property
    def blocking(self) -> bool:
        return self.severity == "violation"


@dataclass(slots=True)
class Report:
    digest: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        """No violation: warnings (recommended properties, vocabulary hints) do not block."""
        return not any(f.blocking for f in self.findings)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.blocking]

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "findings": [asdict(f) for f in self.findings]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        return cls(str(data.get("digest", "")), [Finding(**f) for f in data.get("findings", [])])


_SEVERITY = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


def _run(data: Graph) -> list[tuple[str, Finding]]:
    """Validate ``data`` in place (it is thrown away afterwards); (focus, finding) pairs."""
    _conforms, results, _text = validate(
        data,
        shacl_graph=shapes(),
        inference="none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        meta_shacl=False,
        advanced=False,
        inplace=True,
    )
    out = []
    # Only the report's own results: those of nested shapes (sh:node) hang below them as
    # sh:detail and carry the severity of the inner shape, not of the property that failed.
    for result in results.objects(None, SH.result):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        component = results.value(result, SH.sourceConstraintComponent)
        severity = _SEVERITY.get(results.value(result, SH.resultSeverity), "violation")
        message = results.value(result, SH.resultMessage)
        finding = Finding(
            severity=severity,
            focus=str(focus) if focus is not None else "",
            path=str(path) if isinstance(path, URIRef) else "",
            constraint=str(component).rsplit("#", 1)[-1] if component is not None else "",
            message=str(message or ""),
        )
        out.append((finding.focus, finding))
    out.sort(key=lambda pair: (pair[1].severity, pair[1].focus, pair[1].path, pair[1].constraint))
    return out


def _copy(graph: Graph) -> Graph:
    g = Graph()
    for triple in graph:
        g.add(triple)
    return g


def validate_one(graph: Graph, *, digest: str) -> Report:
    return Report(digest, [f for _focus, f in _run(_copy(graph))])


_recent: OrderedDict[str, Report] = OrderedDict()
RECENT_MAX = 256


def validate_cached(graph: Graph, *, digest: str) -> Report:
    """``validate_one``, remembered per process by the graph's hash (the form validates as the
    person types: the same draft is not validated twice)."""
    with _lock:
        found = _recent.get(digest)
        if found is not None:
            _recent.move_to_end(digest)
            return found
    report = validate_one(graph, digest=digest)
    with _lock:
        _recent[digest] = report
        while len(_recent) > RECENT_MAX:
            _recent.popitem(last=False)
    return report


# --- many datasets: one pyshacl run per distinct structure -------------------------------------
#
# The shipped shapes never look at a literal's text or at the spelling of a dataset's own IRIs:
# they check presence and counts (sh:minCount/maxCount), node kinds, datatypes and language tags,
# classes of values (sh:class), membership of vocabulary IRIs (sh:hasValue on skos:inScheme) and
# IRI patterns of media types and places — never sh:pattern/length/in/lessThan on a literal or on
# a dataset's own IRI (tests/opendata/test_graph.py checks the shape files for that). So two
# datasets whose graphs differ only in literal texts and in their own codes get the same results.
# ``_canonical`` rewrites a graph to that structure: each literal's text becomes its rank among
# the literals of the same subject, property, language and datatype (so counts and uniqueness
# stay), dates become valid placeholder dates, and the dataset's code in its IRIs and blank-node
# labels becomes a placeholder. ``validate_many`` validates each distinct structure once and
# gives every dataset the results with its own IRIs back. Which datasets share a structure is
# decided from their descriptions (``dcat.structure_key``), so only one graph per structure is
# built at all; a test proves the results equal validating each dataset alone.

_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")
_DATETIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")


def _swap_code(term: Any, code: str, provider: str, to_code: str, to_provider: str) -> Any:
    if isinstance(term, URIRef):
        text = str(term)
        text = text.replace(f"/{code}/", f"/{to_code}/").replace(f"/{code}.", f"/{to_code}.")
        text = text.replace(f"?provider={provider}#", f"?provider={to_provider}#")
        return URIRef(text)
    if isinstance(term, BNode) and str(term).startswith(f"{code}-"):
        return BNode(to_code + str(term)[len(code) :])
    return term


def _canonical(graph: Graph, code: str, provider: str, placeholder: str) -> Graph:
    groups: dict[tuple[Any, Any, Any, Any], list[Literal]] = {}
    for s, p, o in graph:
        if isinstance(o, Literal):
            groups.setdefault((s, p, o.language, o.datatype), []).append(o)
    rank: dict[tuple[Any, Any, Literal], int] = {}
    for (s, p, _lang, _dt), literals in groups.items():
        for i, lit in enumerate(sorted(literals, key=str)):
            rank[(s, p, lit)] = i
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal):
            i = rank[(s, p, o)]
            if o.datatype == _DATE:
                o = Literal(f"2000-01-{i + 1:02d}", datatype=_DATE)
            elif o.datatype == _DATETIME:
                o = Literal(f"2000-01-{i + 1:02d}T00:00:00", datatype=_DATETIME)
            elif o.datatype is None:
                o = Literal(f"v{i}", lang=o.language)
        out.add(
            (
                _swap_code(s, code, provider, placeholder, placeholder),
                p,
                _swap_code(o, code, provider, placeholder, placeholder),
            )
        )
    return out


# How many datasets and distinct structures the last validate_many run had (the benchmark).
last_run: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class Item:
    """One dataset to validate: how to build its graph, the hash its result is cached under, the
    key of its graph's structure (``dcat.structure_key``) and what its own IRIs are made of
    (its code and its provider's id)."""

    build: Callable[[], Graph]
    digest: str
    structure: str
    code: str
    provider: str


def validate_many(items: Mapping[int, Item]) -> dict[int, Report]:
    """Validate many datasets: the graph of one dataset per distinct structure is built and
    rewritten to its structure (``_canonical``), those graphs are validated in one pyshacl run,
    and every dataset gets its structure's results with its own IRIs."""
    structures: dict[str, tuple[str, Graph]] = {}  # structure key → (placeholder, graph)
    members: dict[str, list[int]] = {}
    for pk, item in items.items():
        if item.structure not in structures:
            placeholder = f"structure-{len(structures)}"
            graph = _canonical(item.build(), item.code, item.provider, placeholder)
            structures[item.structure] = (placeholder, graph)
        members.setdefault(item.structure, []).append(pk)
    last_run["datasets"], last_run["structures"] = len(items), len(structures)
    union = Graph()
    owners: dict[str, list[str]] = {}
    for key, (_placeholder, graph) in structures.items():
        for triple in graph:
            union.add(triple)
        for s in set(graph.subjects()):
            owners.setdefault(str(s), []).append(key)
    found: dict[str, list[Finding]] = {key: [] for key in structures}
    for focus, finding in _run(union):
        for key in owners.get(focus, ()):
            found[key].append(finding)
    reports = {}
    for key, pks in members.items():
        placeholder = structures[key][0]
        for pk in pks:
            item = items[pk]
            reports[pk] = Report(
                item.digest,
                [
                    Finding(
                        f.severity,
                        _focus_back(f.focus, placeholder, item.code, item.provider),
                        f.path,
                        f.constraint,
                        f.message,
                    )
                    for f in found[key]
                ],
            )
    return reports


def _focus_back(focus: str, placeholder: str, code: str, provider: str) -> str:
    if focus.startswith(f"{placeholder}-"):
        return code + focus[len(placeholder) :]
    return (
        focus.replace(f"/{placeholder}/", f"/{code}/")
        .replace(f"/{placeholder}.", f"/{code}.")
        .replace(f"?provider={placeholder}#", f"?provider={provider}#")
    )


def dataset_node(graph: Graph) -> URIRef | None:
    for s in graph.subjects(RDF.type, DCAT.Dataset):
        if isinstance(s, URIRef):
            return s
    return None
