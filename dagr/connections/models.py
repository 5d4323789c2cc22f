"""Technical connections: the registered systems of an institution that call the API.

As in the real system, a connection has a client id, a kind (provider systems load data,
recipient systems read it), a token lifetime, and authenticates its token requests either with a
client secret (stored only as a hash) or with a JWT signed by the key of its registered X.509
certificate (RFC 7523 ``private_key_jwt``; self-signed certificates are allowed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Connection(models.Model):
    class Kind(models.TextChoices):
        PROVIDER = "provider", _("data provider system")
        RECIPIENT = "recipient", _("data recipient system")
        # registered by administrators only; asks "who read" (dagr.oversight.api)
        OVERSIGHT = "oversight", _("oversight system (administrators)")

    class AuthMethod(models.TextChoices):
        SECRET = "client_secret", _("client secret")
        CERTIFICATE = "private_key_jwt", _("X.509 certificate (signed JWT)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        REVOKED = "revoked", _("revoked")

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="connections"
    )
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    client_id = models.CharField(_("client id"), max_length=64, unique=True)
    auth_method = models.CharField(_("authentication"), max_length=20, choices=AuthMethod.choices)
    secret_hash = models.CharField(max_length=128, blank=True)
    secret_hint = models.CharField(_("secret ends with"), max_length=8, blank=True)
    certificate_pem = models.TextField(_("certificate (PEM)"), blank=True)
    certificate_fingerprint = models.CharField(_("certificate SHA-256"), max_length=95, blank=True)
    certificate_not_after = models.DateTimeField(
        _("certificate valid until"), null=True, blank=True
    )
    token_lifetime_s = models.PositiveIntegerField(_("token lifetime (seconds)"), default=900)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    # Tokens issued before this moment are refused (set on revocation).
    tokens_valid_after = models.DateTimeField(null=True, blank=True)
    last_token_at = models.DateTimeField(_("last token issued"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["institution__name", "name"]
        verbose_name = _("technical connection")
        verbose_name_plural = _("technical connections")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class UsedAssertion(models.Model):
    """``jti`` of client assertions already used: a signed JWT is accepted once (RFC 7523 §3)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "jti"], name="assertion_once")]

    def __str__(self) -> str:
        return self.jti
