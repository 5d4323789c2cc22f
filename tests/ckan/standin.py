"""A CKAN stand-in for the tests: a real HTTP server on loopback (threads) that answers CKAN's
Action API (``/api/3/action/<name>``) the way CKAN 2.10/2.11 with ckanext-scheming,
ckanext-fluent and ckanext-dcat's DCAT-AP schemas does, as documented and as the sources read:

- ckan/ckan ``ckan/views/api.py`` (the envelope ``{"help", "success", "result"|"error"}``, the
  status codes: 200; 400 bad JSON / unknown action / a write over GET; 403 "Authorization Error";
  404 "Not Found Error"; 409 "Validation Error" whose other keys are the field errors as lists of
  messages), ``ckan/logic/action/{get,create,update,patch,delete}.py`` (what each action takes
  and returns: ``package_patch`` merges into ``package_show`` and keeps what it does not name;
  ``package_update`` keeps the resources when ``resources`` is not given (2.10+) and keeps the id
  of a resource sent with its ``id``; ``package_delete`` sets ``state: deleted`` and the package
  stays readable by its organisation's editors; a deleted package's name may be reused),
  ``ckan/logic/schema.py`` + ``ckan/logic/validators.py`` (``name``: 2–100 characters, lowercase
  ASCII letters, digits, ``-`` and ``_``, not ``new``/``edit``/``search``, unique among
  packages that are not deleted — the same message texts; ``owner_org`` must exist and the
  token's user must be an editor of it; top-level keys not in the schema are dropped);
- ckan/ckanext-dcat ``ckanext/dcat/schemas/dcat_ap_full.yaml`` and ``dcat_ap_multilingual.yaml``
  (the field names kept below in ``DATASET_FIELDS``/``RESOURCE_FIELDS`` and the repeating
  subfields; ``dcat_date`` values), ckanext-fluent (``title_translated``/``notes_translated``/
  ``name_translated``: an object of language → text, each form language required where the
  field is required — "Required language "xx" missing"; ``tags_translated``: language → list of
  tags, each 2–100 characters of letters, digits, space, ``-_.``).

Authentication: ``Authorization: <API token>`` (or ``X-CKAN-API-Key``), a token maps to a user
who is an editor of some organisations (``Standin.add_token``).

What it does NOT reproduce: Solr (no ``package_search``; ``package_show`` reads the store
directly), plugins other than the validation named above, the activity stream, datastore and
uploads (a resource's ``url`` is stored as text), private datasets and dataset collaborators,
sysadmins, roles other than "editor", API token expiry/JWT decoding (tokens are opaque strings),
CSRF, rate limits, ``resource_view``s, group membership, ``package_revise``, CKAN's exact
``help`` texts (the ``help`` key holds the ``help_show`` URL as CKAN does) and CKAN's HTML pages.

Tests script faults with ``Standin.faults`` (answers for the next requests: an HTTP status such
as 500/503, or ``"close"`` to drop the connection, or ``"slow"`` to answer after
``slow_seconds``), and read every request in ``Standin.requests``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# ckanext-dcat dcat_ap_full.yaml + dcat_ap_multilingual.yaml (fluent) dataset fields; a value
# of a dict names a repeating field and its subfields.
DATASET_FIELDS: dict[str, tuple[str, ...] | None] = {
    "title": None,
    "title_translated": None,
    "name": None,
    "notes": None,
    "notes_translated": None,
    "tags_translated": None,
    "contact": ("uri", "name", "email", "identifier", "url"),
    "publisher": ("uri", "name", "email", "url", "type", "identifier"),
    "creator": ("uri", "name", "email", "url", "type", "identifier"),
    "license_id": None,
    "owner_org": None,
    "url": None,
    "issued": None,
    "modified": None,
    "version": None,
    "version_notes": None,
    "identifier": None,
    "frequency": None,
    "provenance": None,
    "dcat_type": None,
    "temporal_coverage": ("start", "end"),
    "temporal_resolution": None,
    "spatial_coverage": ("uri", "text", "geom", "bbox", "centroid"),
    "spatial_resolution_in_meters": None,
    "access_rights": None,
    "alternate_identifier": None,
    "theme": None,
    "language": None,
    "documentation": None,
    "conforms_to": None,
    "is_referenced_by": None,
    "applicable_legislation": None,
    "uri": None,
    "state": None,
}
RESOURCE_FIELDS: dict[str, tuple[str, ...] | None] = {
    "url": None,
    "name": None,
    "name_translated": None,
    "description": None,
    "description_translated": None,
    "format": None,
    "mimetype": None,
    "compress_format": None,
    "package_format": None,
    "size": None,
    "hash": None,
    "hash_algorithm": None,
    "rights": None,
    "availability": None,
    "status": None,
    "license": None,
    "has_version": None,
    "access_url": None,
    "download_url": None,
    "issued": None,
    "modified": None,
    "language": None,
    "documentation": None,
    "conforms_to": None,
    "applicable_legislation": None,
    "access_services": ("uri", "title", "endpoint_description", "endpoint_url", "serves_dataset"),
    "uri": None,
}
DATE_FIELDS = ("issued", "modified")
RESOURCE_STATUS = (
    "http://purl.org/adms/status/Completed",
    "http://purl.org/adms/status/UnderDevelopment",
    "http://purl.org/adms/status/Deprecated",
    "http://purl.org/adms/status/Withdrawn",
)
GET_ACTIONS = {"organization_show", "package_show", "resource_show", "status_show"}
NAME_RE = re.compile(r"^[a-z0-9_\-]*$")
TAG_RE = re.compile(r"^[\w \-.]*$", re.UNICODE)
DCAT_DATE_RE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)


class ActionError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("__type"))
        self.status = status
        self.error = error


def _not_found(message: str = "Not found") -> ActionError:
    return ActionError(404, {"__type": "Not Found Error", "message": message})


def _denied(message: str) -> ActionError:
    return ActionError(
        403, {"__type": "Authorization Error", "message": f"Access denied: {message}"}
    )


def _invalid(errors: dict[str, list[Any]]) -> ActionError:
    return ActionError(409, {"__type": "Validation Error", **errors})


@dataclass
class Request:
    method: str
    action: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def writes(self) -> bool:
        return self.action not in GET_ACTIONS


@dataclass
class Standin:
    url: str = ""
    form_languages: tuple[str, ...] = ("lv", "en")
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → org
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → package
    tokens: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # token → user, org ids
    requests: list[Request] = field(default_factory=list)
    faults: list[int | str] = field(default_factory=list)
    slow_seconds: float = 3.0
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- set-up by the tests ---------------------------------------------------------------

    def add_organization(self, name: str, title: str = "") -> dict[str, Any]:
        org = {
            "id": str(uuid.uuid4()),
            "name": name,
            "title": title or name,
            "type": "organization",
            "is_organization": True,
            "state": "active",
            "approval_status": "approved",
        }
        self.organizations[org["id"]] = org
        return org

    def add_token(self, token: str, *, user: str, organizations: list[str]) -> None:
        ids = {self._org(name)["id"] for name in organizations}
        self.tokens[token] = (user, ids)

    def writes(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.writes]

    def package_by_uri(self, uri: str) -> dict[str, Any] | None:
        return next((p for p in self.packages.values() if p.get("uri") == uri), None)

    # --- lookups ---------------------------------------------------------------------------

    def _org(self, id_or_name: str) -> dict[str, Any]:
        for org in self.organizations.values():
            if id_or_name in (org["id"], org["name"]) and org["state"] == "active":
                return org
        raise _not_found()

    def _package(self, id_or_name: Any) -> dict[str, Any]:
        if not isinstance(id_or_name, str) or not id_or_name:
            raise _invalid({"id": ["Missing value"]})
        if id_or_name in self.packages:
            return self.packages[id_or_name]
        named = [p for p in self.packages.values() if p["name"] == id_or_name]
        active = [p for p in named if p["state"] != "deleted"]
        if active or named:
            return (active or named)[0]
        raise _not_found()

    def _user(self, headers: dict[str, str]) -> tuple[str, set[str]] | None:
        token = headers.get("authorization") or headers.get("x-ckan-api-key") or ""
        return self.tokens.get(token.strip())

    def _require_editor(self, user: tuple[str, set[str]] | None, org_id: str, what: str) -> None:
        if user is None:
            raise _denied(f"Action {what} requires an authenticated user")
        if org_id not in user[1]:
            raise _denied(f"User {user[0]} not authorized to edit these packages")

    # --- validation (ckan/logic/validators.py, ckanext-fluent, ckanext-dcat) ----------------

    def _clean(
        self, data: dict[str, Any], spec: dict[str, tuple[str, ...] | None]
    ) -> dict[str, Any]:
        """Keys of the schema only (CKAN drops the others into ignored ``__extras``); the
        subfields of a repeating field likewise."""
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key not in spec:
                continue
            subfields = spec[key]
            if subfields is not None and isinstance(value, list):
                value = [
                    {k: v for k, v in item.items() if k in subfields}
                    for item in value
                    if isinstance(item, dict)
                ]
            out[key] = value
        return out

    def _fluent(
        self, errors: dict[str, list[Any]], data: dict[str, Any], key: str, *, required: bool
    ) -> None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                errors.setdefault(key, []).append("Missing value")
            return
        if not isinstance(value, dict):
            errors.setdefault(key, []).append("expecting JSON object")
            return
        for lang, text in value.items():
            if not isinstance(text, str):
                errors.setdefault(key, []).append(f'Invalid text for language "{lang}"')
        if required:
            for lang in self.form_languages:
                if not str(value.get(lang) or "").strip():
                    errors.setdefault(key, []).append(f'Required language "{lang}" missing')

    def _validate_package(
        self,
        data: dict[str, Any],
        user: tuple[str, set[str]] | None,
        *,
        package_id: str | None,
    ) -> dict[str, Any]:
        errors: dict[str, list[Any]] = {}
        name = data.get("name")
        if not name:
            errors["name"] = ["Missing value"]
        elif not isinstance(name, str):
            errors["name"] = ["Names must be strings"]
        elif name in ("new", "edit", "search"):
            errors["name"] = ["That name cannot be used"]
        elif len(name) < 2:
            errors["name"] = ["Must be at least 2 characters long"]
        elif len(name) > 100:
            errors["name"] = ["Name must be a maximum of 100 characters long"]
        elif not NAME_RE.match(name):
            errors["name"] = [
                "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"
            ]
        elif any(
            p["name"] == name and p["state"] != "deleted" and p["id"] != package_id
            for p in self.packages.values()
        ):
            errors["name"] = ["That URL is already in use."]
        owner = data.get("owner_org")
        if not owner:
            errors["owner_org"] = ["Missing value"]
        else:
            try:
                org = self._org(owner)
            except ActionError:
                errors["owner_org"] = ["Organization does not exist"]
            else:
                data["owner_org"] = org["id"]
                if user is None or org["id"] not in user[1]:
                    errors["owner_org"] = ["You cannot add a dataset to this organization"]
        self._fluent(errors, data, "title_translated", required=True)
        self._fluent(errors, data, "notes_translated", required=True)
        for key in ("provenance", "version_notes"):  # fluent_markdown in the multilingual schema
            if isinstance(data.get(key), dict):
                self._fluent(errors, data, key, required=False)
        tags = data.get("tags_translated")
        if tags not in (None, ""):
            if not isinstance(tags, dict):
                errors["tags_translated"] = ["expecting JSON object"]
            else:
                for values in tags.values():
                    for tag in values if isinstance(values, list) else [values]:
                        tag = str(tag)
                        if len(tag) < 2:
                            errors.setdefault("tags_translated", []).append(
                                f'Tag "{tag}" length is less than minimum 2'
                            )
                        elif len(tag) > 100:
                            errors.setdefault("tags_translated", []).append(
                                f'Tag "{tag}" length is more than maximum 100'
                            )
                        elif not TAG_RE.match(tag):
                            errors.setdefault("tags_translated", []).append(
                                f'Tag "{tag}" must be alphanumeric characters or symbols: -_.'
                            )
        for key in DATE_FIELDS:
            value = data.get(key)
            if value and not (isinstance(value, str) and DCAT_DATE_RE.match(value)):
                errors[key] = ["Date format incorrect"]
        version = data.get("version")
        if isinstance(version, str) and len(version) > 100:
            errors["version"] = ["Version must be a maximum of 100 characters long"]
        if data.get("state") not in (None, "active", "draft", "deleted"):
            errors["state"] = ["Value must be one of: active; draft; deleted"]
        resource_errors = []
        for resource in data.get("resources") or []:
            resource_errors.append(self._validate_resource(resource))
        if any(resource_errors):
            errors["resources"] = resource_errors
        if errors:
            raise _invalid(errors)
        return data

    def _validate_resource(self, data: dict[str, Any]) -> dict[str, list[Any]]:
        errors: dict[str, list[Any]] = {}
        self._fluent(errors, data, "name_translated", required=True)
        self._fluent(errors, data, "description_translated", required=False)
        for key in DATE_FIELDS:
            value = data.get(key)
            if value and not (isinstance(value, str) and DCAT_DATE_RE.match(value)):
                errors[key] = ["Date format incorrect"]
        status = data.get("status")
        if status and status not in RESOURCE_STATUS:
            errors["status"] = ["Value must be one of: " + "; ".join(RESOURCE_STATUS)]
        size = data.get("size")
        if size not in (None, "") and not (isinstance(size, int) or str(size).isdigit()):
            errors["size"] = ["Invalid integer"]
        return errors

    # --- storing -----------------------------------------------------------------------------

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).replace(tzinfo=None).isoformat()

    def _store_resources(
        self, package: dict[str, Any], given: list[dict[str, Any]], previous: list[dict[str, Any]]
    ) -> None:
        known = {r["id"]: r for r in previous}
        stored = []
        for position, raw in enumerate(given):
            resource = self._clean(raw, RESOURCE_FIELDS)
            old = known.get(raw.get("id") or "")
            resource["id"] = old["id"] if old else str(uuid.uuid4())
            resource["package_id"] = package["id"]
            resource["position"] = position
            resource["state"] = "active"
            resource["created"] = old["created"] if old else self._now()
            resource["metadata_modified"] = self._now()
            resource.setdefault("url", "")
            resource["name"] = self._default_text(resource.get("name_translated")) or raw.get(
                "name", ""
            )
            stored.append(resource)
        package["resources"] = stored
        package["num_resources"] = len(stored)

    def _default_text(self, value: Any) -> str:
        """ckanext-fluent's ``fluent_core_translated_output``: the core field takes the text of
        the first form language."""
        if isinstance(value, dict):
            for lang in self.form_languages:
                if value.get(lang):
                    return str(value[lang])
        return ""

    def _save(self, data: dict[str, Any], *, previous: dict[str, Any] | None) -> dict[str, Any]:
        package = self._clean(data, DATASET_FIELDS)
        package["id"] = previous["id"] if previous else str(uuid.uuid4())
        package["type"] = "dataset"
        package["private"] = False
        package["state"] = data.get("state") or "active"
        package["metadata_created"] = previous["metadata_created"] if previous else self._now()
        package["metadata_modified"] = self._now()
        package["title"] = self._default_text(package.get("title_translated")) or package.get(
            "title", ""
        )
        package["notes"] = self._default_text(package.get("notes_translated"))
        org = self.organizations[package["owner_org"]]
        package["organization"] = {k: org[k] for k in ("id", "name", "title", "type", "state")}
        old_resources = list(previous["resources"]) if previous else []
        if "resources" in data:
            self._store_resources(package, data.get("resources") or [], old_resources)
        else:
            package["resources"] = old_resources
            package["num_resources"] = len(old_resources)
        self.packages[package["id"]] = package
        return package

    # --- actions -----------------------------------------------------------------------------

    def organization_show(self, data: dict[str, Any], user: Any) -> Any:
        org = dict(self._org(str(data.get("id") or "")))
        org["package_count"] = sum(
            1
            for p in self.packages.values()
            if p["owner_org"] == org["id"] and p["state"] == "active"
        )
        return org

    def package_show(self, data: dict[str, Any], user: Any) -> Any:
        package = self._package(data.get("id"))
        if package["state"] == "deleted" and (user is None or package["owner_org"] not in user[1]):
            raise _denied(f"User not authorized to read package {package['id']}")
        return json.loads(json.dumps(package))

    def package_create(self, data: dict[str, Any], user: Any) -> Any:
        if user is None:
            raise _denied("Action package_create requires an authenticated user")
        data = self._validate_package(dict(data), user, package_id=None)
        self._require_editor(user, data["owner_org"], "package_create")
        return self._save(data, previous=None)

    def package_update(self, data: dict[str, Any], user: Any) -> Any:
        previous = self._package(data.get("id") or data.get("name"))
        self._require_editor(user, previous["owner_org"], "package_update")
        data = self._validate_package(dict(data), user, package_id=previous["id"])
        return self._save(data, previous=previous)

    def package_patch(self, data: dict[str, Any], user: Any) -> Any:
        previous = self._package(data.get("id"))
        self._require_editor(user, previous["owner_org"], "package_patch")
        merged = json.loads(json.dumps(previous))
        merged.update(data)
        merged["id"] = previous["id"]
        if "resources" not in data:
            merged.pop("resources", None)
        return self.package_update(merged, user)

    def package_delete(self, data: dict[str, Any], user: Any) -> Any:
        package = self._package(data.get("id"))
        self._require_editor(user, package["owner_org"], "package_delete")
        package["state"] = "deleted"
        package["metadata_modified"] = self._now()
        return None

    def _find_resource(self, resource_id: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if not resource_id:
            raise _invalid({"id": ["Missing value"]})
        for package in self.packages.values():
            for resource in package["resources"]:
                if resource["id"] == resource_id:
                    return package, resource
        raise _not_found("Resource was not found.")

    def resource_show(self, data: dict[str, Any], user: Any) -> Any:
        return dict(self._find_resource(data.get("id"))[1])

    def resource_create(self, data: dict[str, Any], user: Any) -> Any:
        if not data.get("package_id"):
            raise _invalid({"package_id": ["Missing value"]})
        package = self._package(data["package_id"])
        self._require_editor(user, package["owner_org"], "resource_create")
        errors = self._validate_resource(data)
        if errors:
            raise _invalid(errors)
        resources = [*package["resources"], {k: v for k, v in data.items() if k != "id"}]
        self._store_resources(package, resources, package["resources"])
        package["metadata_modified"] = self._now()
        return dict(package["resources"][-1])

    def resource_update(self, data: dict[str, Any], user: Any) -> Any:
        package, old = self._find_resource(data.get("id"))
        self._require_editor(user, package["owner_org"], "resource_update")
        errors = self._validate_resource(data)
        if errors:
            raise _invalid(errors)
        resources = [data if r["id"] == old["id"] else r for r in package["resources"]]
        self._store_resources(package, resources, package["resources"])
        package["metadata_modified"] = self._now()
        return dict(next(r for r in package["resources"] if r["id"] == old["id"]))

    def resource_patch(self, data: dict[str, Any], user: Any) -> Any:
        _package, old = self._find_resource(data.get("id"))
        merged = {**old, **data}
        return self.resource_update(merged, user)

    def resource_delete(self, data: dict[str, Any], user: Any) -> Any:
        package, old = self._find_resource(data.get("id"))
        self._require_editor(user, package["owner_org"], "resource_delete")
        rest = [r for r in package["resources"] if r["id"] != old["id"]]
        self._store_resources(package, rest, package["resources"])
        package["metadata_modified"] = self._now()
        return None

    def status_show(self, data: dict[str, Any], user: Any) -> Any:
        return {
            "ckan_version": "2.11.0",
            "site_url": self.url,
            "extensions": ["scheming_datasets", "fluent", "dcat"],
        }

    ACTIONS = (
        "organization_show",
        "package_show",
        "package_create",
        "package_update",
        "package_patch",
        "package_delete",
        "resource_show",
        "resource_create",
        "resource_update",
        "resource_patch",
        "resource_delete",
        "status_show",
    )

    def call(
        self, method: str, action: str, raw: bytes, query: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        envelope: dict[str, Any] = {
            "help": f"{self.url}/api/3/action/help_show?name={action}",
        }
        if action not in self.ACTIONS:
            return 400, {
                **envelope,
                "success": False,
                "error": {"message": f"Bad request - Action name not known: {action}"},
            }
        if method == "GET":
            if action not in GET_ACTIONS:
                return 400, {
                    **envelope,
                    "success": False,
                    "error": {
                        "message": "Bad request - JSON Error: Invalid request. "
                        "Please use POST method for your request"
                    },
                }
            data: Any = {k: v[-1] for k, v in parse_qs(query).items()}
        else:
            try:
                data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            except (ValueError, UnicodeDecodeError) as exc:
                return 400, {
                    **envelope,
                    "success": False,
                    "error": {"message": f"Bad request - JSON Error: {exc}"},
                }
            if not isinstance(data, dict):
                return 400, {
                    **envelope,
                    "success": False,
                    "error": {
                        "message": "Bad request - JSON Error: Request data JSON decoded to "
                        "... but it needs to be a dictionary."
                    },
                }
        with self.lock:
            self.requests.append(Request(method, action, data, headers))
            try:
                result = getattr(self, action)(data, self._user(headers))
            except ActionError as exc:
                return exc.status, {**envelope, "success": False, "error": exc.error}
        return 200, {**envelope, "success": True, "result": result}


def _handler(standin: Standin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            with standin.lock:
                fault = standin.faults.pop(0) if standin.faults else None
            if fault == "close":
                self.close_connection = True
                self.connection.close()
                return
            if fault == "slow":
                time.sleep(standin.slow_seconds)
            if isinstance(fault, int):
                self._send(fault, b"<html><body>Service Unavailable</body></html>", "text/html")
                return
            if not parts.path.startswith("/api/3/action/"):
                self._send(404, b"Not Found", "text/plain")
                return
            action = parts.path.removeprefix("/api/3/action/").strip("/")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = standin.call(method, action, raw, parts.query, headers)
            self._send(status, json.dumps(body).encode(), "application/json;charset=utf-8")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving() -> Iterator[Standin]:
    """A CKAN stand-in on a loopback port (``standin.url``); stops after."""
    standin = Standin()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
