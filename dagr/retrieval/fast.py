"""The hot path, hand-written: GET a record by identifier without django-ninja's per-request
machinery (parameter models, auth dispatch), as measured on this machine (see the note in
``bench/lookup.py``'s results). The operation is still declared in ``api.py`` for the OpenAPI
document; this view answers the same URL first and calls the same service, with the same
authentication (``recipient_auth``) and the same problem+json errors.
``tests/retrieval/test_fast_twin.py`` sends every kind of request to both and requires the same
status, body and headers."""

from __future__ import annotations

import orjson
from django.http import HttpRequest, HttpResponse

from dagr.connections.auth import recipient_auth
from dagr.core.errors import DomainError, NotAuthenticated
from dagr.core.problems import method_not_allowed, problem_from_error
from dagr.core.purpose import purpose_from_header

from . import services


def record_get(request: HttpRequest, code: str, field: str, value: str) -> HttpResponse:
    if request.method != "GET":
        return method_not_allowed(request, allow="GET")
    try:
        scheme, _sep, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated()
        principal = recipient_auth.authenticate(request, token)
        result = services.record_get(
            caller=services.Caller(
                institution_id=principal.institution_id,
                connection_id=principal.connection_id,
                label=principal.client_id,
            ),
            dataset_code=code,
            permission_number=request.META.get("HTTP_X_PERMISSION_NUMBER", ""),
            purpose=purpose_from_header(request.META.get("HTTP_X_PURPOSE")),
            field=field,
            value=value,
        )
    except DomainError as exc:
        return problem_from_error(request, exc)
    return HttpResponse(orjson.dumps({"records": result.records}), content_type="application/json")


record_get.dagr_access = "api:recipient_auth"  # type: ignore[attr-defined]  # declared access, as permissions.access marks views
