"""The connector form: name, dataset, where it runs, the configuration as YAML (the same
document as the remote agent's ``connector.yaml``) and the secrets — password fields that are
never filled in again ("leave empty to keep")."""

from __future__ import annotations

import re
from typing import Any

import yaml
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from dagr.catalog.models import Dataset

from .models import Connector

SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

EXAMPLE = """source:
  kind: sql
  options:
    url: postgresql+psycopg://reader@db.example.lv/registry
    query: SELECT id, name, born, changed_at FROM persons
mode: incremental
cursor: {column: changed_at, type: timestamp}
mapping:
  key: code
  fields:
    - {field: code, column: id}
    - {field: name, column: name, transforms: [trim]}
schedule: "0 3 * * *"
timeout_s: 3600
drift: fail
"""


class ConnectorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    dataset = forms.ModelChoiceField(label=_("Dataset"), queryset=Dataset.objects.none())
    runner = forms.ChoiceField(label=_("Runs"), choices=Connector.Runner.choices)
    enabled = forms.BooleanField(
        label=_("Enabled (runs on its schedule)"), required=False, initial=True
    )
    config = forms.CharField(
        label=_("Configuration (YAML)"),
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
        help_text=_("The same document as the remote agent's connector.yaml; no passwords here."),
    )
    new_secret_name = forms.CharField(label=_("New secret: name"), required=False, max_length=63)
    new_secret_value = forms.CharField(
        label=_("New secret: value"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def __init__(
        self, *args: Any, datasets: QuerySet[Dataset], secret_names: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["dataset"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = datasets
        self.secret_names = secret_names
        for name in secret_names:
            self.fields[f"secret_{name}"] = forms.CharField(
                label=_("Secret %(name)s (leave empty to keep)") % {"name": name},
                required=False,
                widget=forms.PasswordInput(
                    render_value=False,
                    attrs={"autocomplete": "new-password", "placeholder": "••••••"},
                ),
            )
            self.fields[f"remove_{name}"] = forms.BooleanField(
                label=_("Remove the secret %(name)s") % {"name": name}, required=False
            )

    def clean_config(self) -> dict[str, Any]:
        try:
            loaded = yaml.safe_load(self.cleaned_data["config"])
        except yaml.YAMLError as exc:
            raise forms.ValidationError(
                _("This is not valid YAML: %(error)s") % {"error": exc}
            ) from None
        if not isinstance(loaded, dict):
            raise forms.ValidationError(_("The configuration must be a mapping."))
        return loaded

    def clean_new_secret_name(self) -> str:
        name: str = self.cleaned_data["new_secret_name"].strip()
        if name and not SECRET_NAME.match(name):
            raise forms.ValidationError(_("Letters, digits and _ only."))
        return name

    def secrets(self) -> dict[str, str]:
        """For the service: existing names with "" (keep) or a new value; removed ones left out."""
        data = self.cleaned_data
        out = {
            name: data.get(f"secret_{name}") or ""
            for name in self.secret_names
            if not data.get(f"remove_{name}")
        }
        if data.get("new_secret_name") and data.get("new_secret_value"):
            out[data["new_secret_name"]] = data["new_secret_value"]
        return out


def config_text(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
