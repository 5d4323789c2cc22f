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
