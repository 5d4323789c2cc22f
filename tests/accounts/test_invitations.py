"""Invitations: sent by e-mail through real SMTP, accepted once, expired/revoked/replaced links
refused with a clear page, and who may invite."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dagr.accounts import invitations
from dagr.accounts.models import Invitation, Membership, User
from dagr.audit.models import AdminEntry
from dagr.core.errors import PermissionDenied, ValidationError
from dagr.permissions import rules
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db
Role = Membership.Role
NEW_PASSWORD = "Jauna-Parole-2026!"


@pytest.fixture
def world():
    mine, other = make_institution(name="Mana iestāde"), make_institution(name="Cita iestāde")
    return {
        "mine": mine,
        "other": other,
        "signatory": make_user(institution=mine, roles=(Role.SIGNATORY,)),
        "member": make_user(institution=mine, roles=(Role.RECIPIENT,)),
        "other_signatory": make_user(institution=other, roles=(Role.SIGNATORY,)),
        "admin": make_admin(),
    }


def link_in(message) -> str:
    body = message.get_payload(decode=True).decode()
    return re.search(r"http://\S+/accounts/invitation/\S+/", body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def accept(client, path: str, **fields):
    data = {
        "first_name": "Anna",
        "last_name": "Kalniņa",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **fields,
    }
    return client.post(path, data)


def test_signatory_invites_and_the_person_accepts(
    client, world, smtp_server, django_capture_on_commit_callbacks
):
    client.force_login(world["signatory"])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            reverse("accounts:invitations"),
            {"email": "Anna@Example.lv", "institution": world["mine"].pk, "roles": ["recipient"]},
        )
    assert answer.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "anna@example.lv" and invitation.roles == ["recipient"]
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    (mail,) = smtp_server.messages
    assert mail["To"] == "anna@example.lv"
    body = mail.get_payload(decode=True).decode()
    assert "Mana iestāde" in body and "uzaicināt" in body.lower()  # Latvian first
    path = path_of(link_in(mail))
    client.logout()
    page = client.get(path)
    assert page.status_code == 200 and "Mana iestāde" in page.content.decode()
    answer = accept(client, path)
    assert answer.status_code == 302
    user = User.objects.get(email="anna@example.lv")
    assert user.status == User.Status.ACTIVE and user.full_name == "Anna Kalniņa"
    assert user.check_password(NEW_PASSWORD)
    assert rules.has_role(user, world["mine"], Role.RECIPIENT)
    assert client.session["_auth_user_id"] == str(user.pk)
    actions = set(AdminEntry.objects.values_list("action", flat=True))
    assert {
        "accounts.invitation.created",
        "accounts.invitation.accepted",
        "accounts.user.created",
        "accounts.membership.granted",
    } <= actions
    # the link is single-use
    client.logout()
    used = client.get(path)
    assert used.status_code == 410 and "jau izmantots" in used.content.decode()


def test_signatory_role_leads_to_two_factor_enrolment(client, world):
    invitation = invitations.invitation_create(
        actor=world["admin"], institution=world["mine"], email="p@example.lv", roles=["signatory"]
    )
    path = path_of(invitations.invitation_url(invitation))
    answer = accept(client, path)
    assert answer.url == reverse("accounts:two_factor_enrol")


def test_expired_revoked_and_replaced_links(client, world, settings):
    actor = world["signatory"]
    expired = invitations.invitation_create(
        actor=actor, institution=world["mine"], email="a@example.lv", roles=["recipient"]
    )
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    page = client.get(path_of(invitations.invitation_url(expired)))
    assert page.status_code == 410 and "beidzies" in page.content.decode()
    assert accept(client, path_of(invitations.invitation_url(expired))).status_code == 410
    assert not User.objects.filter(email="a@example.lv").exists()

    revoked = invitations.invitation_create(
        actor=actor, institution=world["mine"], email="b@example.lv", roles=["recipient"]
    )
    old_path = path_of(invitations.invitation_url(revoked))
    invitations.invitation_revoke(actor=actor, pk=revoked.pk)
    page = client.get(old_path)
    assert page.status_code == 410 and "atsaukts" in page.content.decode()

    resent = invitations.invitation_create(
        actor=actor, institution=world["mine"], email="c@example.lv", roles=["recipient"]
    )
    first = path_of(invitations.invitation_url(resent))
    resent = invitations.invitation_resend(actor=actor, pk=resent.pk)
    assert client.get(first).status_code == 410
    assert client.get(path_of(invitations.invitation_url(resent))).status_code == 200
    assert client.get("/accounts/invitation/bogus/").status_code == 404
    actions = list(AdminEntry.objects.values_list("action", flat=True))
    assert "accounts.invitation.revoked" in actions and "accounts.invitation.resent" in actions


def test_who_may_invite(client, world):
    url = reverse("accounts:invitations")
    assert client.get(url).status_code == 302  # anonymous → login
    client.force_login(world["member"])
    assert client.get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        invitations.invitation_create(
            actor=world["other_signatory"],
            institution=world["mine"],
            email="x@example.lv",
            roles=["recipient"],
        )
    invitation = invitations.invitation_create(
        actor=world["signatory"],
        institution=world["mine"],
        email="x@example.lv",
        roles=["recipient"],
    )
    client.force_login(world["other_signatory"])
    listing = client.get(url).content.decode()
    assert "x@example.lv" not in listing
    revoke = reverse("accounts:invitation_revoke", args=[invitation.pk])
    assert client.post(revoke).status_code == 404
    client.force_login(world["signatory"])
    assert "x@example.lv" in client.get(url).content.decode()
    assert client.post(revoke).status_code == 302
    assert Invitation.objects.get().revoked_at is not None


def test_existing_address_and_duplicates_refused(world):
    with pytest.raises(ValidationError):
        invitations.invitation_create(
            actor=world["signatory"],
            institution=world["mine"],
            email=world["member"].email,
            roles=["recipient"],
        )
    invitations.invitation_create(
        actor=world["signatory"],
        institution=world["mine"],
        email="d@example.lv",
        roles=["provider"],
    )
    with pytest.raises(ValidationError):
        invitations.invitation_create(
            actor=world["signatory"],
            institution=world["mine"],
            email="d@example.lv",
            roles=["provider"],
        )
