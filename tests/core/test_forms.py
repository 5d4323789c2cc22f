"""The one way a service's domain error is shown on a portal form."""

from django import forms

from dagr.core.errors import ValidationError
from dagr.core.forms import form_add_domain_error


class _Form(forms.Form):
    name = forms.CharField(required=False)
    new_password1 = forms.CharField(required=False)


def _form() -> _Form:
    form = _Form(data={})
    assert form.is_valid()
    return form


def _error(*problems: tuple[str, str]) -> ValidationError:
    return ValidationError(
        "Not valid.",
        code="invalid",
        errors=[{"location": location, "message": message} for location, message in problems],
    )


def test_on_top_the_message_and_every_problem_with_its_location():
    form = _form()
    form_add_domain_error(form, _error(("name", "too long"), ("conditions.0", "unknown field")))
    assert form.non_field_errors() == [
        "Not valid.",
        "name: too long",
        "conditions.0: unknown field",
    ]
    assert "name" not in form.errors


def test_on_top_at_most_limit_problems():
    form = _form()
    form_add_domain_error(form, _error(("a", "1"), ("b", "2"), ("c", "3")), limit=2)
    assert form.non_field_errors() == ["Not valid.", "a: 1", "b: 2"]


def test_at_fields_each_problem_next_to_its_field_through_aliases():
    form = _form()
    form_add_domain_error(
        form,
        _error(("name", "taken"), ("password", "too short"), ("elsewhere", "left out")),
        at_fields=True,
        aliases={"password": "new_password1"},
    )
    assert form.errors["name"] == ["taken"]
    assert form.errors["new_password1"] == ["too short"]
    assert form.non_field_errors() == []


def test_at_fields_the_message_on_top_when_no_problem_has_a_field():
    form = _form()
    form_add_domain_error(form, _error(("elsewhere", "left out")), at_fields=True)
    assert form.non_field_errors() == ["Not valid."]
    form = _form()
    form_add_domain_error(form, _error(), at_fields=True)
    assert form.non_field_errors() == ["Not valid."]
