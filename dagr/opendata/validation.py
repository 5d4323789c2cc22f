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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyshacl import validate
from rdflib import Graph, URIRef
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


def validate_many(graphs: Mapping[int, tuple[Graph, str]]) -> dict[int, Report]:
    """Validate several datasets' graphs in one run; each dataset gets the results about nodes
    of its own graph (a shared node — a concept, a publisher — reports to each that uses it).
    ``graphs``: dataset id → (graph, digest)."""
    union = Graph()
    owners: dict[str, list[int]] = {}
    for pk, (graph, _digest) in graphs.items():
        for triple in graph:
            union.add(triple)
        for s in set(graph.subjects()):
            owners.setdefault(str(s), []).append(pk)
    reports = {pk: Report(digest) for pk, (_graph, digest) in graphs.items()}
    for focus, finding in _run(union):
        for pk in owners.get(focus, ()):
            reports[pk].findings.append(finding)
    return reports


def dataset_node(graph: Graph) -> URIRef | None:
    for s in graph.subjects(RDF.type, DCAT.Dataset):
        if isinstance(s, URIRef):
            return s
    return None
