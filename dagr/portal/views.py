from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dagr.core.problems import problem_response
from dagr.permissions.access import ActorRequest, authenticated, public

from . import selectors, services
from .glossary import terms_sorted


@public
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", selectors.home_context())


@public
def glossary(request: HttpRequest) -> HttpResponse:
    language = "en" if (get_language() or "lv").startswith("en") else "lv"
    terms = [
        {"anchor": t.anchor, "term": t.term(language), "other": t.other(language),
         "text": t.text(language), "article": t.article}
        for t in terms_sorted(language)
    ]  # fmt: skip
    return render(request, "portal/glossary.html", {"terms": terms})


@public
def get_access(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/get_access.html")


@authenticated
def dashboard(request: ActorRequest) -> HttpResponse:
    return render(request, "portal/dashboard.html", selectors.dashboard_context(actor=request.user))


@public
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers (the worker state is reported, not required); else 503."""
    result = services.health_check()
    return JsonResponse(result, status=200 if result["database"]["ok"] else 503)


def _error(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(request, status=status, code=f"http_{status}", title=title)
    return render(
        request,
        "portal/error.html",
        # no "help for this page" link: an error page renders even when the database is down
        {"status": status, "title": title, "text": text, "page_help_slug": None},
        status=status,
    )


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, _("Bad request"), _("The request could not be understood."))


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 403, _("Access denied"), _("You do not have permission to open this page.")
    )


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 404, _("Page not found"), _("The page does not exist or is not available to you.")
    )


def domain_error(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Any other domain error a view did not handle: its own message and status."""
    status = getattr(exception, "status", 400)
    return _error(request, status, str(getattr(exception, "title", "")), str(exception))


def error_500(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        500,
        _("Something went wrong"),
        _("An unexpected error occurred. It has been logged; please try again later."),
    )


for _view in (error_400, error_403, error_404, error_500, domain_error):
    public(_view)
