"""Every DAGR page declares who may use it (``dagr.permissions.access``)."""

from django.urls import URLPattern, URLResolver, get_resolver


def _walk(patterns, prefix=""):  # type: ignore[no-untyped-def]
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def test_every_portal_view_declares_access():
    missing = []
    for route, view in _walk(get_resolver().url_patterns):
        module = getattr(view, "__module__", "")
        if route.startswith("api/v1/") or not module.startswith("dagr."):
            continue
        if not getattr(view, "dagr_access", None):
            missing.append(f"{route} → {module}.{getattr(view, '__name__', view)}")
    assert not missing, "views without an access declaration:\n" + "\n".join(missing)
