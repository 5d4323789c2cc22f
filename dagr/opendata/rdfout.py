"""Turtle, JSON-LD and RDF/XML written straight from the builder's triples (``dcat.Triples``).

rdflib's serialisers are pure Python and general (the Turtle one sorts subjects, computes
prefixes and nests blank nodes): a catalogue page of 100 datasets (~13k triples) cost them
0.5–1.5 s of CPU. The triples here are known to be simple — subjects are IRIs or labelled
blank nodes, every predicate is in one of ``dcat.PREFIXES``'s namespaces — so each format is a
single pass: triples grouped by subject in the order they were made, IRIs shortened with the
prefixes where the local name is a plain name, texts escaped for the format. The output is a
different spelling of the same graph (tests parse each format back with rdflib and compare it
with the graph the same triples make, blank nodes included).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson

from .dcat import PREFIXES, Blank, Iri, Lit, Term, Triple

RDF_FORMATS: dict[str, tuple[str, str]] = {
    # extension → (rdflib's name of the format, media type)
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("xml", "application/rdf+xml"),
}

RDF_TYPE = PREFIXES["rdf"] + "type"
_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")  # safe in Turtle, JSON-LD and XML names
# longest namespace first: one IRI matches at most one prefix that way
_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


@lru_cache(maxsize=8192)
def _qname(iri: str) -> tuple[str, str] | None:
    """(prefix, local name) when the IRI is a namespace of ``PREFIXES`` + a plain name."""
    for prefix, ns in _BY_LENGTH:
        if iri.startswith(ns):
            local = iri[len(ns) :]
            return (prefix, local) if _LOCAL.match(local) else None
    return None


def _by_subject(triples: Iterable[Triple]) -> dict[Iri | Blank, list[tuple[Iri, Term]]]:
    subjects: dict[Iri | Blank, list[tuple[Iri, Term]]] = {}
    for s, p, o in triples:
        subjects.setdefault(s, []).append((p, o))
    return subjects


def serialize(triples: Iterable[Triple], fmt: str) -> bytes:
    """The triples in the format ``fmt`` (a key of ``RDF_FORMATS``), UTF-8."""
    grouped = _by_subject(triples)
    if fmt == "ttl":
        return turtle(grouped).encode()
    if fmt == "jsonld":
        return jsonld(grouped)
    if fmt == "rdf":
        return rdfxml(grouped).encode()
    raise ValueError(f"unknown RDF format {fmt!r}")


# --- Turtle ------------------------------------------------------------------------------------

# IRIREF may not hold these (nor controls or space): written as \\u escapes (UCHAR)
_IRI_ESCAPES = {ord(c): f"\\u{ord(c):04X}" for c in '<>"{}|^`\\ '} | {
    i: f"\\u{i:04X}" for i in range(0x21)
}
_STRING_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r"}


@lru_cache(maxsize=8192)
def _ttl_iri(iri: str) -> str:
    q = _qname(iri)
    if q is not None:
        return f"{q[0]}:{q[1]}"
    return f"<{iri.translate(_IRI_ESCAPES)}>"


def _ttl_term(t: Term) -> str:
    if type(t) is Lit:
        text = f'"{t.value.translate(_STRING_ESCAPES)}"'
        if t.lang:
            return f"{text}@{t.lang}"
        return f"{text}^^{_ttl_iri(t.datatype)}" if t.datatype else text
    if type(t) is Blank:
        return f"_:{t}"
    return _ttl_iri(t)


def turtle(grouped: dict[Iri | Blank, list[tuple[Iri, Term]]]) -> str:
    out = [f"@prefix {prefix}: <{ns}> .\n" for prefix, ns in PREFIXES.items()]
    for s, pairs in grouped.items():
        out.append(f"\n{_ttl_term(s)}")
        last = len(pairs) - 1
        for i, (p, o) in enumerate(pairs):
            pred = "a" if p == RDF_TYPE else _ttl_iri(p)
            out.append(f"\n    {pred} {_ttl_term(o)} {'.' if i == last else ';'}")
        out.append("\n")
    return "".join(out)


# --- JSON-LD -----------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _json_key(iri: str) -> str:
    q = _qname(iri)
    return f"{q[0]}:{q[1]}" if q is not None else iri


def _json_value(t: Term) -> dict[str, str]:
    if type(t) is Lit:
        if t.lang:
            return {"@value": t.value, "@language": t.lang}
        if t.datatype:
            return {"@value": t.value, "@type": _json_key(t.datatype)}
        return {"@value": t.value}
    if type(t) is Blank:
        return {"@id": f"_:{t}"}
    return {"@id": str(t)}


def jsonld(grouped: dict[Iri | Blank, list[tuple[Iri, Term]]]) -> bytes:
    """A ``@graph`` of node objects; property names and types shortened by the ``@context``'s
    prefixes, node IRIs written in full."""
    nodes = []
    for s, pairs in grouped.items():
        node: dict[str, Any] = {"@id": f"_:{s}" if type(s) is Blank else str(s)}
        types = [_json_key(o) for p, o in pairs if p == RDF_TYPE and type(o) is Iri]
        if types:
            node["@type"] = types
        for p, o in pairs:
            if p == RDF_TYPE and type(o) is Iri:
                continue
            node.setdefault(_json_key(p), []).append(_json_value(o))
        nodes.append(node)
    return orjson.dumps({"@context": dict(PREFIXES), "@graph": nodes}, option=orjson.OPT_INDENT_2)


# --- RDF/XML -----------------------------------------------------------------------------------

# characters XML 1.0 does not allow at all (a text that has one loses it)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTR_ENTITIES = {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def _xml_text(text: str) -> str:
    return escape(_XML_INVALID.sub("", text), {"\r": "&#13;"})


def _xml_attr(text: str) -> str:
    return quoteattr(_XML_INVALID.sub("", text), _ATTR_ENTITIES)


def _node_id(label: str) -> str:
    return "b" + re.sub(r"[^A-Za-z0-9_.-]", "_", label)  # an XML name, whatever the code is


def _xml_name(iri: str) -> str:
    q = _qname(iri)
    if q is None:  # every predicate the builder writes is in a prefixed namespace
        raise ValueError(f"no XML name for the predicate {iri}")
    return f"{q[0]}:{q[1]}"


def rdfxml(grouped: dict[Iri | Blank, list[tuple[Iri, Term]]]) -> str:
    namespaces = "".join(f"\n   xmlns:{prefix}={quoteattr(ns)}" for prefix, ns in PREFIXES.items())
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF{namespaces}>\n']
    for s, pairs in grouped.items():
        if type(s) is Blank:
            out.append(f"  <rdf:Description rdf:nodeID={_xml_attr(_node_id(s))}>\n")
        else:
            out.append(f"  <rdf:Description rdf:about={_xml_attr(s)}>\n")
        for p, o in pairs:
            name = _xml_name(p)
            if isinstance(o, Lit):
                if o.lang:
                    attr = f' xml:lang="{o.lang}"'
                elif o.datatype:
                    attr = f" rdf:datatype={_xml_attr(o.datatype)}"
                else:
                    attr = ""
                out.append(f"    <{name}{attr}>{_xml_text(o.value)}</{name}>\n")
            elif isinstance(o, Blank):
                out.append(f"    <{name} rdf:nodeID={_xml_attr(_node_id(o))}/>\n")
            else:
                out.append(f"    <{name} rdf:resource={_xml_attr(o)}/>\n")
        out.append("  </rdf:Description>\n")
    out.append("</rdf:RDF>\n")
    return "".join(out)
