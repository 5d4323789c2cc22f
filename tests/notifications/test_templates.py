"""Templates: validation (unknown variables, attribute lookups, sandbox), sanitising, CSS
inlining, the derived text part, versions with diff and restore, audit entries, defaults."""

from __future__ import annotations

import pytest
from django.utils import translation
from jinja2.exceptions import SecurityError

from dagr.audit.models import AdminEntry
from dagr.core.errors import PermissionDenied, ValidationError
from dagr.notifications import composing, rendering, selectors, services
from dagr.notifications.defaults import DEFAULTS
from dagr.notifications.registry import BY_KEY, KINDS
from tests.factories import make_admin, make_user

pytestmark = pytest.mark.django_db

GOOD = composing.Source(
    "Piekļuve: {{ dataset_title }}",
    '<p>Labdien, {{ recipient_name }}!</p><p><a href="{{ url }}">Atvērt</a></p>',
    "",
)


def test_every_kind_has_valid_lv_and_en_defaults():
    for kind in KINDS:
        assert set(DEFAULTS[kind.key]) == {"lv", "en"}, kind.key
        for language in ("lv", "en"):
            source = composing.current_source(kind.key, language)
            composing.validate_source(kind.key, source)
            message = composing.compose(kind.key, language, kind.sample_context())
            assert message.subject and "{{" not in message.html, kind.key


@pytest.mark.parametrize(
    "html, problem",
    [
        ("<p>{{ password }}</p>", "password"),
        ("<p>{{ ''.__class__ }}</p>", "attribute"),
        ("<p>{{ url.__class__.__mro__ }}</p>", "attribute"),
        ("<p>{{ url['x'] }}</p>", "attribute"),
        ("<p>{{ cycler.__init__.__globals__ }}</p>", "cycler"),
        ("<p>{% for x in range(10) %}{% endfor %}</p>", "range"),
        ("<p>{{ url </p>", "syntax"),
    ],
)
def test_validation_refuses_unknown_variables_lookups_and_bad_syntax(html, problem):
    with translation.override("en"), pytest.raises(rendering.TemplateInvalid) as info:
        composing.validate_source("request_approved", composing.Source("x", html, ""))
    assert problem in " ".join(info.value.errors)


def test_sandbox_refuses_escapes_at_render_time_too():
    with pytest.raises(SecurityError):
        rendering.render_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_html_is_sanitised():
    html = rendering.render_html_fragment(
        '<p onclick="steal()">Sveiki<script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><img src=x onerror=alert(3)>'
        '<a href="{{ url }}" onmouseover="y()">ok</a></p>',
        {"url": "https://dagr.example.lv/a"},
    )
    assert "script" not in html and "onclick" not in html and "onerror" not in html
    assert "onmouseover" not in html and "javascript:" not in html
    assert 'href="https://dagr.example.lv/a"' in html


def test_values_are_escaped_in_html_but_not_in_text():
    context = {"name": "<b>Ā&B</b>"}
    assert rendering.render_html_fragment("<p>{{ name }}</p>", context) == (
        "<p>&lt;b&gt;Ā&amp;B&lt;/b&gt;</p>"
    )
    assert rendering.render_text("{{ name }}", context) == "<b>Ā&B</b>"


def test_css_is_inlined_and_text_is_derived():
    message = composing.compose(
        "request_approved", "lv", BY_KEY["request_approved"].sample_context(), source=GOOD
    )
    assert "<style" not in message.html
    assert 'style="' in message.html and "font-family" in message.html
    assert "Labdien, Anna Bērziņa!" in message.text
    assert "Atvērt (https://dagr.example.lv/grants/12/)" in message.text


def test_html_to_text():
    text = rendering.html_to_text(
        "<h1>Virsraksts</h1><p>Rindkopa<br>jauna rinda</p><ul><li>viens</li><li>divi</li></ul>"
        '<p><a href="https://x.lv/">saite</a> &amp; beigas</p>'
    )
    assert text == (
        "Virsraksts\n\nRindkopa\njauna rinda\n\n- viens\n- divi\n\nsaite (https://x.lv/) & beigas\n"
    )


def test_save_versions_diff_restore_and_audit():
    admin = make_admin()
    first = services.template_save(actor=admin, kind="request_approved", language="lv", source=GOOD)
    changed = composing.Source("Jauns: {{ dataset_title }}", GOOD.html, "Teksts {{ url }}")
    second = services.template_save(
        actor=admin, kind="request_approved", language="lv", source=changed, note="labāk"
    )
    assert (first.version, second.version) == (1, 2)
    assert composing.current_source("request_approved", "lv").subject == changed.subject
    assert composing.current_source("request_approved", "en").subject.startswith("Access approved")
    diff = selectors.version_diff(first, second)
    assert "diff_chg" in diff and "Teksts&nbsp;{{&nbsp;url&nbsp;}}" in diff
    restored = services.template_restore(
        actor=admin, kind="request_approved", language="lv", version=1
    )
    assert restored.version == 3 and restored.subject == GOOD.subject
    entries = AdminEntry.objects.filter(action="notifications.template.saved").order_by("seq")
    assert entries.count() == 3
    assert entries.last().changes["subject"] == [changed.subject, GOOD.subject]


def test_save_refuses_invalid_and_non_admins():
    admin = make_admin()
    bad = composing.Source("{{ nope }}", "<p>{{ ''.__class__ }}</p>", "")
    with pytest.raises(ValidationError) as info:
        services.template_save(actor=admin, kind="request_approved", language="lv", source=bad)
    assert info.value.code == "template_invalid"
    with pytest.raises(PermissionDenied):
        services.template_save(
            actor=make_user(), kind="request_approved", language="lv", source=GOOD
        )
    assert not AdminEntry.objects.filter(action="notifications.template.saved").exists()


def test_edited_template_is_used_by_the_dispatch(smtp):
    from tests.grants.factories import make_approved, make_world

    from .conftest import run_worker_steps

    admin = make_admin()
    services.template_save(actor=admin, kind="request_approved", language="lv", source=GOOD)
    w = make_world()
    make_approved(w)
    run_worker_steps()
    mail = smtp.to(w.recipient_rep.email)[0]
    assert str(mail["Subject"]) == "Piekļuve: Personas"
