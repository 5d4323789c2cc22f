from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Institution

from .models import Connection
from .services import MAX_CERTIFICATE_BYTES, MAX_LIFETIME_S, MIN_LIFETIME_S


class CertificateField(forms.FileField):
    def clean(self, data: Any, initial: Any = None) -> str:
        upload = super().clean(data, initial)
        if not upload:
            return ""
        if upload.size > MAX_CERTIFICATE_BYTES:
            raise forms.ValidationError(_("The certificate file is too large."))
        try:
            return upload.read().decode("ascii")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("Upload a PEM-encoded certificate (text).")) from None


class ConnectionCreateForm(forms.Form):
    institution = forms.ModelChoiceField(
        queryset=Institution.objects.none(), label=_("Institution")
    )
    name = forms.CharField(label=_("Name"), max_length=150)
    kind = forms.ChoiceField(label=_("Kind"), choices=Connection.Kind.choices)
    auth_method = forms.ChoiceField(
        label=_("Authentication"),
        choices=Connection.AuthMethod.choices,
        widget=forms.RadioSelect,
        initial=Connection.AuthMethod.SECRET,
    )
    certificate = CertificateField(
        label=_("X.509 certificate (PEM)"),
        required=False,
        help_text=_("Needed for certificate authentication; self-signed certificates are allowed."),
    )
    token_lifetime_s = forms.IntegerField(
        label=_("Token lifetime (seconds)"),
        min_value=MIN_LIFETIME_S,
        max_value=MAX_LIFETIME_S,
        initial=900,
    )

    def __init__(
        self, *args: Any, institutions: Any, kinds: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]  # fields[] is typed Field
        if kinds is not None:  # only the kinds the user may register; the first is the default
            kind = self.fields["kind"]
            kind.choices = [c for c in Connection.Kind.choices if c[0] in kinds]  # type: ignore[attr-defined]  # fields[] is typed Field
            kind.initial = kinds[0] if kinds else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("auth_method") == Connection.AuthMethod.CERTIFICATE and not data.get(
            "certificate"
        ):
            self.add_error("certificate", _("Upload the certificate of the connecting system."))
        return data


class CertificateForm(forms.Form):
    certificate = CertificateField(label=_("New X.509 certificate (PEM)"))
