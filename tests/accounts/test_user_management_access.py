"""Who may open the user-management pages: anonymous → login (401 as a redirect), people
without the right → 403 (pages about no object) or 404 (an object they may not see)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dagr.accounts import invitations
from dagr.accounts.models import Membership
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db
Role = Membership.Role


@pytest.fixture
def world():
    mine, other = make_institution(), make_institution()
    signatory = make_user(institution=mine, roles=(Role.SIGNATORY,))
    member = make_user(institution=mine, roles=(Role.RECIPIENT,))
    invitation = invitations.invitation_create(
        actor=signatory, institution=mine, email="p@example.lv", roles=["recipient"]
    )
    return {
        "admin": make_admin(),
        "signatory": signatory,
        "member": member,
        "other_signatory": make_user(institution=other, roles=(Role.SIGNATORY,)),
        "mine": mine,
        "membership": Membership.objects.get(user=member),
        "invitation": invitation,
    }


def cases(w):
    """(method, url, {who: expected status})."""
    ok_managers = {"admin": 200, "signatory": 200, "other_signatory": 200, "member": 403}
    return [
        ("get", reverse("accounts:invitations"), ok_managers),
        ("get", reverse("accounts:access_reviews"), ok_managers),
        (
            "get",
            reverse("accounts:access_review", args=[w["mine"].pk]),
            {"admin": 200, "signatory": 200, "other_signatory": 404, "member": 404},
        ),
        (
            "post",
            reverse("accounts:access_review_confirm", args=[w["membership"].pk]),
            {"other_signatory": 404, "member": 404},
        ),
        (
            "post",
            reverse("accounts:access_review_restore", args=[w["membership"].pk]),
            {"other_signatory": 404, "member": 404},
        ),
        (
            "post",
            reverse("accounts:access_review_remove", args=[w["membership"].pk]),
            {"other_signatory": 404, "member": 404},
        ),
        (
            "post",
            reverse("accounts:invitation_revoke", args=[w["invitation"].pk]),
            {"other_signatory": 404, "member": 403},
        ),
        (
            "post",
            reverse("accounts:invitation_resend", args=[w["invitation"].pk]),
            {"other_signatory": 404, "member": 403},
        ),
        (
            "post",
            reverse("accounts:user_2fa_reset", args=[w["member"].pk]),
            {"other_signatory": 404, "member": 403},
        ),
        ("get", reverse("accounts:two_factor"), {"member": 200, "signatory": 200}),
        ("get", reverse("accounts:two_factor_enrol"), {"member": 200}),
    ]


def test_access(client, world):
    login = reverse("accounts:login")
    for method, url, expected in cases(world):
        client.logout()
        anonymous = getattr(client, method)(url)
        assert anonymous.status_code == 302 and anonymous.url.startswith(login), url
        for who, status in expected.items():
            client.force_login(world[who])
            assert getattr(client, method)(url).status_code == status, (url, who)


def test_signatory_sets_a_personal_code_on_the_edit_page(client, world):
    from dagr.accounts.models import User
    from dagr.accounts.oidc import personal_code_hash
    from dagr.audit.models import AdminEntry

    member = world["member"]
    url = reverse("accounts:user_edit", args=[member.pk])
    data = {
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "language": "lv",
    }
    client.force_login(world["signatory"])
    refused = client.post(url, {**data, "personal_code": "12345678901"})
    assert refused.status_code == 200 and User.objects.get(pk=member.pk).personal_code_hash is None
    assert client.post(url, {**data, "personal_code": "321234-56789"}).status_code == 302
    assert User.objects.get(pk=member.pk).personal_code_hash == personal_code_hash("32123456789")
    entry = AdminEntry.objects.get(action="accounts.user.personal_code_set")
    assert "32123456789" not in str(entry.changes)
    client.force_login(world["other_signatory"])
    assert client.post(url, {**data, "personal_code": "32123456789"}).status_code == 404
