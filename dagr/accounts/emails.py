"""E-mails of the accounts capability: plain text, Latvian first, then English in the same message.

Each message is ``accounts/email/<name>_subject.txt`` and ``accounts/email/<name>.txt``; the body
template renders its part once per language through ``accounts/email/bilingual.txt``. Services
call these functions with ids from ``transaction.on_commit``, so nothing is sent for a change that
was rolled back. Only account set-up and password reset mails live here (links that act on the
account); the notifications of applications (received, approved, rejected) are sent by
``dagr.notifications`` from the audit log.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User

logger = logging.getLogger(__name__)

ACCOUNT_SETUP_TIMEOUT_S = 60 * 60 * 24 * 7


class AccountSetupTokenGenerator(PasswordResetTokenGenerator):
    """Tokens for the "set your password" link of a new account: valid for a week (a password
    reset link only for ``PASSWORD_RESET_TIMEOUT``), and void once a password is set."""

    key_salt = "dagr.accounts.AccountSetupTokenGenerator"

    def check_token(self, user: Any, token: str | None) -> bool:
        if not (user and token):
            return False
        try:
            ts = int(token.split("-")[0], 36)
        except ValueError:
            return False
        if (self._num_seconds(self._now()) - ts) > ACCOUNT_SETUP_TIMEOUT_S:
            return False
        from django.utils.crypto import constant_time_compare

        return any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


account_setup_token_generator = AccountSetupTokenGenerator()


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def set_password_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = account_setup_token_generator.make_token(user)
    return absolute_url(reverse("accounts:account_setup", kwargs={"uidb64": uid, "token": token}))


def render_message(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of ``accounts/email/<name>``."""
    context = {"site_url": settings.SITE_URL.rstrip("/"), **context}
    subject = "".join(render_to_string(f"accounts/email/{name}_subject.txt", context).splitlines())
    body = render_to_string(f"accounts/email/{name}.txt", context)
    return subject.strip(), body


def send(name: str, recipients: list[str], context: dict[str, Any]) -> int:
    if not recipients:
        return 0
    subject, body = render_message(name, context)
    sent = 0
    for to in recipients:  # one message each: recipients do not see each other's addresses
        try:
            sent += EmailMessage(subject, body, None, [to]).send()
        except Exception:  # a mail failure must not undo the committed change
            logger.exception("e-mail %s to user could not be sent", name)
    return sent


def send_account_created(*, user_id: int) -> int:
    user = User.objects.get(pk=user_id)
    return send(
        "account_created",
        [user.email],
        {"user": user, "set_password_url": set_password_url(user)},
    )
