"""Two-factor authentication: TOTP (RFC 6238) authenticators and one-time recovery codes.

Why pyotp and our own two small models rather than django-otp: django-otp stores a TOTP key as
plain hex in its own table and builds its login on ``user.is_verified``/its middleware; DAGR
needs the secret encrypted at rest (``dagr.core.crypto``), recovery codes hashed, every change
in the administrative audit and the attempts counted by ``dagr.core.ratelimit`` — so the only
part we would keep is the RFC 6238 arithmetic, which pyotp (small, maintained, no Django
coupling) gives. The QR code is drawn here as SVG by segno (pure Python, no external service).

Required for portal administrators and signatory contact persons
(``permissions.rules.requires_two_factor``), optional for everyone else; the login asks for a
code after the password when the user has a confirmed authenticator (``views.login_code``) and
``middleware.TwoFactorMiddleware`` sends a user who must have one to the enrolment page.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create
from dagr.core import crypto
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, PermissionDenied, RateLimited, ValidationError
from dagr.core.ratelimit import rate_limit_hit, rate_limit_wait
from dagr.permissions import rules

from . import emails, lifecycle
from .models import RecoveryCode, TwoFactorDevice, User

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_CODE_LENGTH = 12  # ~59 bits each
STEP_S = 30
ATTEMPT_SCOPE = "accounts.two_factor.user"


def _wrong_code() -> ValidationError:
    message = _("The code is not correct. Check the time on your phone and try again.")
    return ValidationError(
        message, code="wrong_code", errors=[{"location": "code", "message": message}]
    )


def confirmed_device(user: User) -> TwoFactorDevice | None:
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def has_two_factor(user: User) -> bool:
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def recovery_code_hash(user_id: int, code: str) -> str:
    """SHA-256 over the user and the normalised code: a code carries ~59 random bits, so a
    plain hash (like the connection secrets' keyed one) is enough and checks in microseconds."""
    normal = "".join(code.lower().split()).replace("-", "")
    return hashlib.sha256(f"dagr.recovery.v1:{user_id}:{normal}".encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def device_secret(device: TwoFactorDevice) -> str:
    return crypto.decrypt(device.secret)


def provisioning_uri(user: User, device: TwoFactorDevice) -> str:
    return pyotp.TOTP(device_secret(device)).provisioning_uri(
        name=user.email, issuer_name=settings.DAGR_TWO_FACTOR_ISSUER
    )


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (no style attribute: strict CSP)."""
    qr = segno.make(uri, error="m")
    return str(qr.svg_inline(scale=5, dark="#000", light="#fff", title=None, omitsize=False))


def enrolment_start(*, user: User) -> TwoFactorDevice:
    """A new, unconfirmed authenticator with a fresh secret (replacing an unconfirmed one)."""
    if has_two_factor(user):
        raise Conflict(_("Two-factor authentication is already on."), code="two_factor_on")
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user=user).delete()
        return TwoFactorDevice.objects.create(
            user=user, secret=crypto.encrypt(pyotp.random_base32())
        )


def enrolment_with_secret(*, user: User, secret: str) -> bool:
    """Provisioning (the demo): give ``user`` a confirmed authenticator with ``secret`` (base32),
    so that a published demo secret works in any authenticator app. Never for real accounts: the
    secret must be known only to the user. Returns False when the user already has one."""
    if has_two_factor(user):
        return False
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user=user).delete()
        TwoFactorDevice.objects.create(
            user=user, secret=crypto.encrypt(secret), confirmed_at=timezone.now()
        )
        admin_entry_create(action="accounts.two_factor.enabled", actor=user, target=user)
    return True


def current_code(secret: str) -> str:
    """The code an authenticator with ``secret`` shows now (the demo prints it)."""
    return str(pyotp.TOTP(secret).now())


def pending_device(user: User) -> TwoFactorDevice | None:
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=True).first()


def _check_attempts(user: User) -> None:
    wait = rate_limit_wait(
        scope=ATTEMPT_SCOPE, value=str(user.pk), limit=settings.DAGR_TWO_FACTOR_MAX_ATTEMPTS
    )
    if wait is not None:
        raise RateLimited(retry_after=wait)


def _count_failure(user: User) -> None:
    rate_limit_hit(
        scope=ATTEMPT_SCOPE, value=str(user.pk), window_s=settings.DAGR_TWO_FACTOR_WINDOW_S
    )


def _totp_step(device: TwoFactorDevice, code: str) -> int | None:
    """The time step whose code ``code`` is (now, one before or one after), if newer than the
    last one used: a code works once."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(device_secret(device))
    now_step = int(time.time()) // STEP_S
    for step in (now_step - 1, now_step, now_step + 1):
        if step > device.last_step and constant_time_compare(totp.at(step * STEP_S), code):
            return step
    return None


def enrolment_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the pending authenticator with its first code; returns the recovery codes (shown
    once, stored hashed)."""
    _check_attempts(user)
    with transaction.atomic():
        device = (
            TwoFactorDevice.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=True)
            .first()
        )
        if device is None:
            raise Conflict(_("Start the set-up again."), code="no_pending_authenticator")
        step = _totp_step(device, code)
        if step is None:
            _count_failure(user)
            raise _wrong_code()
        device.confirmed_at = timezone.now()
        device.last_step = step
        device.save(update_fields=["confirmed_at", "last_step"])
        codes = _replace_recovery_codes(user)
        admin_entry_create(action="accounts.two_factor.enabled", actor=user, target=user)
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=recovery_code_hash(user.pk, c)) for c in codes
    )
    return codes


def recovery_codes_regenerate(*, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working); needs a current authenticator code."""
    _check_attempts(user)
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device is None or device.confirmed_at is None:
            raise Conflict(_("Two-factor authentication is off."), code="two_factor_off")
        step = _totp_step(device, code)
        if step is None:
            _count_failure(user)
            raise _wrong_code()
        device.last_step = step
        device.save(update_fields=["last_step"])
        codes = _replace_recovery_codes(user)
        admin_entry_create(
            action="accounts.two_factor.recovery_codes_renewed", actor=user, target=user
        )
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def code_verify(*, user: User, code: str) -> str:
    """Check a login code: a current TOTP code or an unused recovery code. Returns ``"totp"``
    or ``"recovery"``; raises ``ValidationError`` (``wrong_code``) or ``RateLimited`` after
    ``DAGR_TWO_FACTOR_MAX_ATTEMPTS`` wrong codes within ``DAGR_TWO_FACTOR_WINDOW_S``."""
    _check_attempts(user)
    with transaction.atomic():
        device = (
            TwoFactorDevice.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=False)
            .first()
        )
        if device is None:
            raise Conflict(_("Two-factor authentication is off."), code="two_factor_off")
        step = _totp_step(device, code)
        if step is not None:
            device.last_step = step
            device.save(update_fields=["last_step"])
            return "totp"
        used = RecoveryCode.objects.filter(
            user=user, code_hash=recovery_code_hash(user.pk, code), used_at__isnull=True
        ).update(used_at=timezone.now())
        if used:
            admin_entry_create(
                action="accounts.two_factor.recovery_code_used",
                actor=user,
                target=user,
                changes={"left": [None, recovery_codes_left(user)]},
            )
            return "recovery"
    _count_failure(user)
    raise _wrong_code()


def two_factor_disable(*, user: User, code: str) -> None:
    """A user for whom it is optional turns two-factor authentication off (with a code)."""
    if rules.requires_two_factor(user):
        raise PermissionDenied(
            _("Two-factor authentication is required for your role."), code="two_factor_required"
        )
    code_verify(user=user, code=code)
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        admin_entry_create(action="accounts.two_factor.disabled", actor=user, target=user)


def two_factor_reset(*, actor: Actor, user: User, reason: str = "") -> None:
    """An administrator or signatory removes a user's authenticator (e.g. a lost phone): the
    user's sessions end, and at the next login they set it up again (if their role requires
    it) or log in with the password alone. The user is told by e-mail."""
    if not rules.can_reset_two_factor(actor, user):
        raise PermissionDenied
    with transaction.atomic():
        deleted, _rows = TwoFactorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        if not deleted:
            raise Conflict(_("The user has no two-factor authentication."), code="two_factor_off")
        changes: dict[str, Any] = {"two_factor": [True, False]}
        if reason.strip():
            changes["reason"] = reason.strip()
        admin_entry_create(
            action="accounts.two_factor.reset", actor=actor, target=user, changes=changes
        )
        user_id = user.pk
        transaction.on_commit(lambda: lifecycle.sessions_end(user_id=user_id))
        transaction.on_commit(lambda: emails.send_two_factor_reset(user_id=user_id))
