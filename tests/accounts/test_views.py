"""Portal pages of the accounts capability: who may open what, and that forms do their work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dagr.accounts.models import Application, Institution, Membership, User
from dagr.audit.models import AdminEntry
from dagr.audit.services import admin_entry_create
from tests.conftest import TEST_PASSWORD
from tests.factories import make_admin, make_institution, make_user, next_company_code

pytestmark = pytest.mark.django_db

Role = Membership.Role
EVERYONE = {"admin", "signatory", "member", "stranger", "other_signatory"}


@pytest.fixture
def world():
    mine, other = make_institution(name="Mana iestāde"), make_institution(name="Cita iestāde")
    people = {
        "admin": make_admin(),
        "signatory": make_user(institution=mine, roles=(Role.SIGNATORY,)),
        "member": make_user(institution=mine, roles=(Role.RECIPIENT,)),
        "stranger": make_user(institution=other, roles=(Role.RECIPIENT,)),
        "other_signatory": make_user(institution=other, roles=(Role.SIGNATORY,)),
    }
    applicant = make_user(status=User.Status.PENDING, email="pieteicejs@example.lv")
    application = Application.objects.create(
        user=applicant, institution=mine, roles=[Role.RECIPIENT]
    )
    return {"mine": mine, "other": other, "application": application, **people}


def pages(w):
    """(url, who gets 200, who gets 403/404) for every page behind a login."""
    mine, member, app = w["mine"], w["member"], w["application"]
    return [
        (reverse("accounts:institutions"), {"admin"}),
        (reverse("accounts:institution_create"), {"admin"}),
        (reverse("accounts:institution", args=[mine.pk]), {"admin", "signatory"}),
        (reverse("accounts:institution_edit", args=[mine.pk]), {"admin"}),
        (reverse("accounts:users"), {"admin", "signatory", "other_signatory"}),
        (reverse("accounts:user_create"), {"admin", "signatory", "other_signatory"}),
        (reverse("accounts:user", args=[member.pk]), {"admin", "signatory", "member"}),
        (reverse("accounts:user_edit", args=[member.pk]), {"admin", "signatory"}),
        (reverse("accounts:applications"), {"admin", "signatory", "other_signatory"}),
        (reverse("accounts:application", args=[app.pk]), {"admin", "signatory"}),
        (reverse("accounts:audit"), {"admin"}),
        (reverse("accounts:profile"), EVERYONE),
        (reverse("accounts:password_change"), EVERYONE),
    ]


def test_permission_matrix(client, world):
    login = reverse("accounts:login")
    for url, allowed in pages(world):
        client.logout()
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(login), url
        for who in sorted(EVERYONE):
            client.force_login(world[who])
            status = client.get(url).status_code
            if who in allowed:
                assert status == 200, (url, who, status)
            else:
                assert status in (403, 404), (url, who, status)


def test_public_pages_open_without_login(client):
    for name in ("login", "register", "password_reset", "register_done"):
        assert client.get(reverse(f"accounts:{name}")).status_code == 200, name


def test_user_list_shows_only_own_institution_for_a_signatory(client, world):
    client.force_login(world["signatory"])
    body = client.get(reverse("accounts:users")).content.decode()
    assert world["member"].email in body
    assert world["stranger"].email not in body
    assert world["admin"].email not in body
    # filter by status
    body = client.get(reverse("accounts:users"), {"status": "pending"}).content.decode()
    assert "pieteicejs@example.lv" in body and world["member"].email not in body


def test_institution_create_and_edit_through_the_portal(client, world):
    client.force_login(world["admin"])
    code = next_company_code()
    response = client.post(
        reverse("accounts:institution_create"),
        {"name": "Jauna iestāde", "registration_number": code, "kind": "provider"},
    )
    institution = Institution.objects.get(registration_number=code)
    assert response.status_code == 302
    assert response.url == reverse("accounts:institution", args=[institution.pk])
    # a bad registration number is shown on the form, not a 500
    response = client.post(
        reverse("accounts:institution_edit", args=[institution.pk]),
        {"name": "X", "registration_number": "12345678901", "kind": "provider", "status": "active"},
    )
    assert response.status_code == 200
    assert "registration_number" in response.context["form"].errors
    institution.refresh_from_db()
    assert institution.name == "Jauna iestāde"


def test_signatory_blocks_and_edits_a_colleague(client, world):
    client.force_login(world["signatory"])
    member = world["member"]
    page = client.get(reverse("accounts:user", args=[member.pk]))
    assert page.context["status_form"]["status"].value() == User.Status.ACTIVE
    url = reverse("accounts:user_status", args=[member.pk])
    confirm = client.post(url, {"status": "blocked", "reason": "x"})
    assert confirm.status_code == 200  # the one-click POST asks first and blocks nobody
    html = confirm.content.decode()
    assert 'name="reason" value="x"' in html and f'href="/accounts/users/{member.pk}/"' in html
    member.refresh_from_db()
    assert member.status == User.Status.ACTIVE
    response = client.post(url, {"status": "blocked", "reason": "x", "confirm": "yes"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == User.Status.BLOCKED
    page = client.get(reverse("accounts:user", args=[member.pk]))
    assert page.context["status_form"]["status"].value() == User.Status.BLOCKED
    # unblocking is not destructive: no question
    assert client.post(url, {"status": "active"}).status_code == 302
    member.refresh_from_db()
    assert member.status == User.Status.ACTIVE
    client.post(url, {"status": "blocked", "confirm": "yes"})
    response = client.post(
        reverse("accounts:user_edit", args=[member.pk]),
        {
            "first_name": "Ilze",
            "last_name": "Ozola",
            "email": member.email,
            "phone": "not a phone",
            "position": "",
            "language": "lv",
        },
    )
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    # the administrator flag is not even offered to a signatory
    assert "is_portal_admin" not in response.context["form"].fields


def test_signatory_cannot_touch_a_user_of_another_institution(client, world):
    client.force_login(world["signatory"])
    stranger = world["stranger"]
    for name in ("user_status", "user_role_grant", "user_role_revoke"):
        response = client.post(reverse(f"accounts:{name}", args=[stranger.pk]), {})
        assert response.status_code == 404, name
    stranger.refresh_from_db()
    assert stranger.status == User.Status.ACTIVE


def test_roles_granted_and_withdrawn_from_the_user_page(client, world):
    client.force_login(world["signatory"])
    member, mine = world["member"], world["mine"]
    response = client.post(
        reverse("accounts:user_role_grant", args=[member.pk]),
        {"institution": mine.pk, "role": "provider"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=member, institution=mine, role="provider")
    client.post(
        reverse("accounts:user_role_revoke", args=[member.pk]), {"membership": membership.pk}
    )
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AdminEntry.objects.filter(action="accounts.membership.revoked").exists()


def test_application_approved_from_its_page(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["signatory"])
    app = world["application"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:application", args=[app.pk]),
            {"decision": "approve", "roles": ["recipient"], "note": ""},
        )
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status == Application.Status.APPROVED
    assert app.user.status == User.Status.ACTIVE
    # the other institution's signatory gets the same answer as for a missing application
    client.force_login(world["other_signatory"])
    assert client.get(reverse("accounts:application", args=[app.pk])).status_code == 404
    assert client.get(reverse("accounts:application", args=[99999])).status_code == 404


def test_register_form_creates_an_application(client, world):
    response = client.post(
        reverse("accounts:register"),
        {
            "institution": world["mine"].pk,
            "roles": ["recipient"],
            "first_name": "Līga",
            "last_name": "Kārkliņa",
            "email": "liga@example.lv",
            "phone": "+371 29 000 000",
            "position": "Analītiķe",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
            "message": "",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("accounts:register_done")
    user = User.objects.get(email="liga@example.lv")
    assert user.status == User.Status.PENDING
    assert user.applications.get().institution == world["mine"]


def test_register_form_shows_service_errors(client, world):
    response = client.post(
        reverse("accounts:register"),
        {
            "institution": world["mine"].pk,
            "roles": ["recipient"],
            "first_name": "Līga",
            "last_name": "Kārkliņa",
            "email": world["member"].email,
            "phone": "",
            "position": "",
            "password1": "123",
            "password2": "123",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "email" in errors or "password1" in errors


def test_profile_edit_and_password_change(client, world):
    member = world["member"]
    client.force_login(member)
    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": "Jānis",
            "last_name": "Jaunais",
            "phone": "",
            "position": "",
            "language": "en",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.last_name == "Jaunais" and member.language == "en"
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Cita-Parole-2027!",
            "new_password2": "Cita-Parole-2027!",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("Cita-Parole-2027!")
    # still logged in after the change
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_audit_page_filters_and_shows_changes(client, world):
    admin = world["admin"]
    admin_entry_create(
        action="accounts.user.updated",
        actor=admin,
        target=world["member"],
        changes={"position": ["Referents", "Jurists"]},
    )
    admin_entry_create(
        action="catalog.dataset.created", actor=admin, target_type="catalog.dataset", target_id="7"
    )
    client.force_login(admin)
    body = client.get(reverse("accounts:audit"), {"action": "accounts.user"}).content.decode()
    assert ">lietotāja dati mainīti</span>" in body  # the action's name, not its code
    assert "Jurists" in body and "Referents" in body
    assert ">datu kopa izveidota</span>" not in body
    body = client.get(reverse("accounts:audit"), {"actor": "nobody-like-this"}).content.decode()
    assert "lietotāja dati mainīti</span>" not in body
    response = client.get(
        reverse("accounts:audit"), {"date_from": "2030-01-02", "date_to": "2030-01-01"}
    )
    assert response.status_code == 200
    assert "date_to" in response.context["form"].errors


def test_blocked_user_loses_their_session(client, world):
    member = world["member"]
    client.force_login(member)
    assert client.get(reverse("accounts:profile")).status_code == 200
    User.objects.filter(pk=member.pk).update(status=User.Status.BLOCKED)
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_page_in_latvian_and_english(client):
    response = client.get(reverse("accounts:login"))
    body = response.content.decode()
    assert '<html lang="lv">' in body and "Aizmirsāt paroli?" in body
    client.cookies["dagr_language"] = "en"
    body = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en">' in body and "Forgot your password?" in body


def test_user_page_shows_recent_changes_to_an_admin(client, world):
    member = world["member"]
    client.force_login(world["admin"])
    client.post(
        reverse("accounts:user_role_grant", args=[member.pk]),
        {"institution": world["mine"].pk, "role": "signatory"},
    )
    body = client.get(reverse("accounts:user", args=[member.pk])).content.decode()
    assert ">loma piešķirta</span>" in body
    # and the link to the full history of this user works
    body = client.get(
        reverse("accounts:audit"), {"target_type": "accounts.user", "target": str(member.pk)}
    ).content.decode()
    assert ">loma piešķirta</span>" in body


def test_audit_page_reads_as_words_not_codes(client, world):
    admin = world["admin"]
    admin_entry_create(
        action="accounts.membership.granted",
        actor=admin,
        target=world["member"],
        changes={"roles": [None, ["recipient", "provider"]], "role": ["recipient", None]},
    )
    client.force_login(admin)
    response = client.get(reverse("accounts:audit"))
    body = response.content.decode()
    assert "accounts.membership.granted</" not in body and ">loma piešķirta</span>" in body
    assert "[&#x27;recipient&#x27;" not in body and "['recipient'" not in body
    assert "datu ņēmēja pārstāvis, datu devēja pārstāvis" in body
    assert "<del>datu ņēmēja pārstāvis</del>" in body
    assert "(lietotājs " in body  # the object type's name, not accounts.user
    choices = dict(response.context["form"].fields["action"].choices)
    assert choices["accounts.membership.granted"] == "loma piešķirta"
    types = dict(response.context["form"].fields["target_type"].choices)
    assert types["accounts.user"] == "lietotājs"
