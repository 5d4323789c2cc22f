"""RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

PROBLEM_TYPE_BASE = "https://dagr.gov.lv/problems/"


def problem_response(
    request: HttpRequest | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    **extra: Any,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
    }
    if detail and detail != title:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.path
        request_id = getattr(request, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extra)
    return HttpResponse(
        orjson.dumps(body, default=str), status=status, content_type="application/problem+json"
    )


def problem_from_error(request: HttpRequest | None, exc: Any) -> HttpResponse:
    """The problem+json answer to a ``dagr.core.errors.DomainError`` — used by the API's
    exception handler and by the few hand-written hot-path API views alike."""
    extra: dict[str, Any] = dict(exc.extra)
    if exc.errors:
        extra["errors"] = exc.errors
    response = problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=str(exc.title),
        detail=str(exc.message),
        **extra,
    )
    for name, value in exc.headers().items():
        response[name] = value
    return response


def method_not_allowed(request: HttpRequest | None, *, allow: str) -> HttpResponse:
    """405 ``method_not_allowed`` with the ``Allow`` header — for ninja's routes (through
    ``dagr.core.middleware.ApiProblemMiddleware``) and the hand-written hot path."""
    response = problem_response(
        request,
        status=405,
        code="method_not_allowed",
        title=_("The method is not allowed here"),
        detail=_("Allowed methods: %(allow)s.") % {"allow": allow or "-"},
    )
    response["Allow"] = allow
    return response


def nul_in_request(request: HttpRequest, *, in_body: bool = False) -> HttpResponse:
    """400 ``nul_character``: the URL, a header or a JSON body read by ninja holds a NUL
    character (``%00``, ``\\u0000``) — nothing DAGR stores may contain one."""
    if in_body:
        detail = _("The request body must not contain the NUL character (%(nul)s).") % {
            "nul": "\\u0000"
        }
    else:
        detail = _("Neither the address nor a header may contain the NUL character (%(nul)s).") % {
            "nul": "%00"
        }
    return problem_response(
        request,
        status=400,
        code="nul_character",
        title=_("The request contains a NUL character"),
        detail=detail,
    )
