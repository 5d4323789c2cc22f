"""The REST API: one NinjaAPI that mounts every app's router and maps domain errors once to
RFC 9457 problem+json with a stable ``code``. Outside ninja's reach: a 404 under ``/api/`` is
problem+json through ``handler404``, a 405 (ninja answers it before any handler) through
``dagr.core.middleware.ApiProblemMiddleware``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from dagr.core.errors import INVALID_REQUEST, DomainError, NotAuthenticated
from dagr.core.framework_errors import framework_errors
from dagr.core.problems import nul_in_request, problem_from_error, problem_response

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable and machine-readable.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
ERROR_RESPONSES = {
    "400": "Bad request",
    "401": "Not authenticated (missing, invalid or revoked credentials)",
    "403": "Authenticated but not allowed",
    "404": "Not found (also for objects the caller may not see)",
    "409": "Conflict with the current state",
    "422": "Invalid input; `errors` lists each problem",
    "429": "Quota or rate limit exceeded",
    "503": "Temporarily unavailable (e.g. the access could not be audited)",
}

# Headers that the handlers read as optional — so that their absence gets its own stable code
# (400 ``permission_number_required``, on the hand-written hot path too) rather than a generic
# 422 — but that every call must send: the document declares them required, with their limits.
REQUIRED_HEADERS: dict[str, dict[str, Any]] = {
    "X-Permission-Number": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"},
}
# Limits of optional headers that the handlers check themselves (with their own stable code).
HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    **REQUIRED_HEADERS,
    "X-Purpose": {"type": "string", "maxLength": 255, "pattern": r"^[^\x00-\x1f\x7f-\x9f]*$"},
}


class DagrApi(NinjaAPI):
    """Documents the problem+json error responses of every operation in one place."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = _responses_by_text_status(operation.setdefault("responses", {}))
                operation["responses"] = responses
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "header" and parameter["name"] in HEADER_SCHEMAS:
                        parameter["required"] = parameter["name"] in REQUIRED_HEADERS
                        parameter["schema"] = dict(HEADER_SCHEMAS[parameter["name"]])
                for status, description in ERROR_RESPONSES.items():
                    responses.setdefault(
                        status,
                        {
                            "description": description,
                            "content": {"application/problem+json": {"schema": problem}},
                        },
                    )
        return schema


def _responses_by_text_status(responses: dict[Any, Any]) -> dict[str, Any]:
    """ninja keys its responses by ``int`` status, ``openapi_extra`` and ``ERROR_RESPONSES`` by
    text: the JSON document would carry ``"200"`` twice (Swagger UI: "duplicated mapping key").
    One key per status; a declaration in ``openapi_extra`` refines ninja's own."""
    merged: dict[str, Any] = {}
    for status, response in sorted(responses.items(), key=lambda kv: isinstance(kv[0], str)):
        key = str(status)
        if key in merged and isinstance(response, dict):
            merged[key] = {**merged[key], **response}
        else:
            merged[key] = response
    return merged


class NulInBody(ValueError):
    """A JSON body holds a NUL character, which no stored text may contain (PostgreSQL cannot)."""


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class DagrParser(Parser):
    """ninja's JSON body parser, refusing a NUL character anywhere in the body (400
    ``nul_character`` through ``_http_error``). The provider API's record bodies are read by
    hand and report NUL per record instead (``dagr.catalog.schema``)."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        if _has_nul(data):
            raise NulInBody()
        return data

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest) -> Any:
        parsed = super().parse_querydict(data, list_fields, request)
        if _has_nul(parsed):  # a form body (the query string is refused by the middleware)
            raise NulInBody()
        return parsed


api = DagrApi(
    title="DAGR API",
    version="1",
    description=(
        "Datu izplatīšanas un pārvaldības platforma — national data distribution platform. "
        "Errors are RFC 9457 problem+json documents with a stable `code`."
    ),
    urls_namespace="api",
    docs_url="/docs",
    parser=DagrParser(),
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem_from_error(request, exc)


@api.exception_handler(NulInBody)
def _nul_in_body(request: HttpRequest, exc: NulInBody) -> HttpResponse:
    return nul_in_request(request, in_body=True)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return problem_response(
        request,
        status=422,
        code="invalid_request",
        title=str(INVALID_REQUEST),
        errors=framework_errors(exc.errors),
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        request, status=401, code="not_authenticated", title=str(NotAuthenticated.title)
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, NulInBody):  # ninja wraps every body parser error
        return nul_in_request(request, in_body=True)
    return problem_response(
        request, status=exc.status_code, code=f"http_{exc.status_code}", title=str(exc.message)
    )


def mount_routers() -> None:
    """Each app that offers API endpoints exposes ``router`` in its ``api`` module."""
    from dagr.anonymisation.api import router as test_data_router
    from dagr.catalog.api import router as catalog_router
    from dagr.connections.api import router as connections_router
    from dagr.connectors.api import router as connectors_router
    from dagr.dashboard.api import router as stats_router
    from dagr.knowledge.api import router as help_router
    from dagr.monitoring.api import router as monitoring_router
    from dagr.monitoring.api_webhooks import router as webhooks_router
    from dagr.oversight.api import router as audit_router
    from dagr.portal.api import router as system_router
    from dagr.records.api import router as provider_router
    from dagr.retrieval.api import router as retrieval_router

    api.add_router("/", system_router)
    api.add_router("/catalog", catalog_router)
    api.add_router("/", connections_router)
    api.add_router("/data", retrieval_router)
    api.add_router("/audit", audit_router)
    api.add_router("/audit/stats", stats_router)
    api.add_router("/provider", provider_router)
    api.add_router("/provider/connectors", connectors_router)
    api.add_router("/record-sets", monitoring_router)
    api.add_router("/record-sets", webhooks_router)
    api.add_router("/test-data", test_data_router)
    api.add_router("/help", help_router)


mount_routers()
