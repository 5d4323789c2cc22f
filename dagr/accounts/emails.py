"""E-mails of the accounts capability: plain text, Latvian first, then English in the same message.

Each message is ``accounts/email/<name>_subject.txt`` and ``accounts/email/<name>.txt``; the body
template renders its part once per language through ``accounts/email/bilingual.txt``. Services
call these functions with ids from ``transaction.on_commit``, so nothing is sent for a change
that was rolled back. Account set-up, password reset and the user-management mails (invitations,
two-factor reset, access reviews, inactivity) live here; the notifications of applications
(received, approved, rejected) are sent by ``dagr.notifications`` from the audit log.
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

from .models import Institution, Membership, User

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


def _manager_addresses(institution: Institution) -> list[str]:
    signatories = list(
        User.objects.filter(
            status=User.Status.ACTIVE,
            memberships__institution=institution,
            memberships__role=Membership.Role.SIGNATORY,
            memberships__status=Membership.Status.ACTIVE,
        )
        .distinct()
        .values_list("email", flat=True)
    )
    if signatories:
        return signatories
    return list(
        User.objects.filter(status=User.Status.ACTIVE, is_portal_admin=True).values_list(
            "email", flat=True
        )
    )


def send_account_created(*, user_id: int) -> int:
    user = User.objects.get(pk=user_id)
    return send(
        "account_created",
        [user.email],
        {"user": user, "set_password_url": set_password_url(user)},
    )


# --- user management (DU-8): invitations, two-factor, access reviews, inactivity -------------
# Each of these also has its audit action (see the report in docs/architecture.md's accounts
# row); the notifications app may later take them over from its registry.


def _role_labels(roles: list[str]) -> list[Any]:
    labels = dict(Membership.Role.choices)  # lazy: translated inside each {% language %}
    return [labels.get(role, role) for role in roles]


def send_invitation(*, invitation_id: int) -> int:
    from .invitations import invitation_url
    from .models import Invitation

    invitation = Invitation.objects.select_related("institution").get(pk=invitation_id)
    return send(
        "invitation",
        [invitation.email],
        {
            "invitation": invitation,
            "roles": _role_labels(invitation.roles),
            "accept_url": invitation_url(invitation),
        },
    )


def send_two_factor_reset(*, user_id: int) -> int:
    user = User.objects.get(pk=user_id)
    return send(
        "two_factor_reset",
        [user.email],
        {"user": user, "login_url": absolute_url(reverse("accounts:login"))},
    )


def send_inactivity_notice(*, user_id: int, deactivate_on: Any) -> int:
    user = User.objects.get(pk=user_id)
    return send(
        "inactivity_notice",
        [user.email],
        {
            "user": user,
            "deactivate_on": deactivate_on,
            "login_url": absolute_url(reverse("accounts:login")),
        },
    )


def send_deactivated_inactive(*, user_id: int) -> int:
    user = User.objects.get(pk=user_id)
    return send(
        "deactivated_inactive",
        [user.email],
        {"user": user, "days": settings.DAGR_INACTIVE_DEACTIVATE_DAYS},
    )


def send_access_review_requested(*, review_id: int) -> int:
    from .models import AccessReview

    review = AccessReview.objects.select_related("institution").get(pk=review_id)
    return send(
        "access_review_requested",
        _manager_addresses(review.institution),
        {
            "review": review,
            "review_url": absolute_url(
                reverse("accounts:access_review", args=[review.institution_id])
            ),
        },
    )
