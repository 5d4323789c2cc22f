from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PortalConfigForm(forms.Form):
    base_url = forms.URLField(
        label=_("Portal address"),
        max_length=500,
        assume_scheme="https",
        help_text=_("The address of the CKAN portal, e.g. https://data.gov.lv"),
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "url"}),
    )
    organization = forms.CharField(
        label=_("Organisation name in the portal"),
        max_length=100,
        help_text=_("The organisation's short name as in its address in the portal."),
    )
    token = forms.CharField(
        label=_("API token"),
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "An API token of a user who is an editor of the organisation. Stored encrypted and "
            "never shown again; leave empty to keep the stored one."
        ),
    )


class PublishForm(forms.Form):
    package_name = forms.CharField(
        label=_("Name in the portal (web address)"),
        max_length=100,
        help_text=_(
            "2–100 lowercase Latin letters, digits, - and _; it becomes part of the address."
        ),
    )
