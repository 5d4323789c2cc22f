"""Login, logout, throttling, and the password and application flows through a real SMTP server."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from dagr.accounts import services
from dagr.accounts.models import Application, Membership, User
from dagr.audit.models import AdminEntry
from dagr.core.actors import SYSTEM
from tests.conftest import TEST_PASSWORD
from tests.factories import make_institution, make_user

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/accounts/[^\s]+/)")


def login(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def body_of(message) -> str:
    if message.is_multipart():  # notifications: multipart/alternative, the text part first
        message = message.get_payload()[0]
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def notify() -> None:
    """What the worker does for notifications: dispatch the audit log, send the e-mails."""
    from dagr.notifications import delivery, dispatch

    dispatch.dispatch_all()
    delivery.deliveries_send()


def test_login_and_logout(client):
    user = make_user(email="anna@example.lv")
    response = login(client, "Anna@Example.lv", TEST_PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("portal:dashboard")
    assert client.get(reverse("accounts:profile")).status_code == 200
    user.refresh_from_db()
    assert user.last_login is not None
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_wrong_password_is_refused(client):
    make_user(email="anna@example.lv")
    response = login(client, "anna@example.lv", "nepareiza-parole")
    assert response.status_code == 200
    assert "E-pasta adrese vai parole nav pareiza" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "text"),
    [(User.Status.PENDING, "gaida apstiprinājumu"), (User.Status.BLOCKED, "ir bloķēts")],
)
def test_pending_and_blocked_users_cannot_log_in(client, status, text):
    make_user(email="anna@example.lv", status=status)
    response = login(client, "anna@example.lv", TEST_PASSWORD)
    assert response.status_code == 200
    assert text in response.content.decode()
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_login_is_throttled_after_the_failure_limit(client, settings):
    make_user(email="anna@example.lv")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "anna@example.lv", "nepareiza-parole")
    response = login(client, "anna@example.lv", TEST_PASSWORD)  # the right password, too late
    assert response.status_code == 429
    body = response.content.decode()
    assert "Pārāk daudz neveiksmīgu pieteikšanās mēģinājumu" in body
    assert "Too many failed login attempts" in body
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_stored_password_is_argon2(client):
    user = services.user_create(
        actor=SYSTEM, email="a@example.lv", first_name="A", last_name="B", password=TEST_PASSWORD
    )
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


def test_password_reset_through_a_real_smtp_server(client, smtp_server):
    user = make_user(email="anna@example.lv")
    response = client.post(reverse("accounts:password_reset"), {"email": "ANNA@example.lv"})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "anna@example.lv"
    body = body_of(message)
    assert body.index("Sveiki") < body.index("Hello")  # Latvian first, then English
    path = LINK.search(body).group(1)

    response = client.get(path, follow=True)  # the view swaps the token into the session
    assert response.status_code == 200
    assert "<h1>Iestatīt jaunu paroli</h1>" in response.content.decode()
    form_url = response.redirect_chain[-1][0]
    new_password = "Jauna-Parole-2026!"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_complete")
    assert AdminEntry.objects.filter(
        action="accounts.user.password_reset", target_id=str(user.pk)
    ).exists()

    assert login(client, "anna@example.lv", TEST_PASSWORD).status_code == 200  # old one fails
    assert login(client, "anna@example.lv", new_password).status_code == 302
    # the link works only once
    client.logout()
    assert "nav derīga" in client.get(path, follow=True).content.decode()


def test_password_reset_sends_nothing_for_unknown_or_blocked(client, smtp_server):
    make_user(email="blocked@example.lv", status=User.Status.BLOCKED)
    for email in ("nobody@example.lv", "blocked@example.lv"):
        response = client.post(reverse("accounts:password_reset"), {"email": email})
        assert response.status_code == 302  # the same answer: no account enumeration
    assert smtp_server.messages == []


def test_new_user_sets_password_from_the_email(
    client, smtp_server, django_capture_on_commit_callbacks
):
    institution = make_institution()
    with django_capture_on_commit_callbacks(execute=True):
        services.user_create(
            actor=SYSTEM,
            email="jauns@example.lv",
            first_name="Jauns",
            last_name="Lietotājs",
            institution=institution,
            roles=[Membership.Role.RECIPIENT],
        )
    assert len(smtp_server.messages) == 1
    path = LINK.search(body_of(smtp_server.messages[0])).group(1)
    assert path.startswith("/accounts/set-password/")
    response = client.get(path, follow=True)
    assert "<h1>Iestatiet savu paroli</h1>" in response.content.decode()
    form_url = response.redirect_chain[-1][0]
    client.post(
        form_url, {"new_password1": "Mana-Parole-2026!", "new_password2": "Mana-Parole-2026!"}
    )
    assert login(client, "jauns@example.lv", "Mana-Parole-2026!").status_code == 302


def test_application_and_approval_flow_through_smtp(
    client, smtp_server, django_capture_on_commit_callbacks
):
    institution = make_institution(name="Valsts zemes dienests")
    signatory = make_user(
        email="paraksts@example.lv", institution=institution, roles=(Membership.Role.SIGNATORY,)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:register"),
            {
                "institution": institution.pk,
                "roles": ["provider"],
                "first_name": "Kārlis",
                "last_name": "Ozols",
                "email": "karlis@example.lv",
                "phone": "26000000",
                "position": "Datu inženieris",
                "password1": TEST_PASSWORD,
                "password2": TEST_PASSWORD,
                "message": "Datu ielādei",
            },
        )
    assert response.status_code == 302
    notify()
    by_recipient = {m["To"]: m for m in smtp_server.messages}
    assert set(by_recipient) == {"karlis@example.lv", "paraksts@example.lv"}
    assert "Valsts zemes dienests" in body_of(by_recipient["karlis@example.lv"])
    # the applicant cannot log in yet
    assert login(client, "karlis@example.lv", TEST_PASSWORD).status_code == 200

    # the signatory follows the link in the notification and approves
    path = LINK.search(body_of(by_recipient["paraksts@example.lv"])).group(1)
    client.force_login(signatory)
    assert client.get(path).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"decision": "approve", "roles": ["provider"], "note": ""})
    assert response.status_code == 302
    notify()
    decision = next(m for m in smtp_server.messages[2:] if "apstiprināts" in body_of(m))
    assert decision["To"] == "karlis@example.lv"  # in Latvian, his language
    application = Application.objects.get(user__email="karlis@example.lv")
    assert application.status == Application.Status.APPROVED

    client.logout()
    assert login(client, "karlis@example.lv", TEST_PASSWORD).status_code == 302
    karlis = User.objects.get(email="karlis@example.lv")
    assert karlis.memberships.get().role == "provider"


def test_changing_the_case_of_the_email_does_not_reset_throttling(client, settings):
    make_user(email="anna@example.lv")
    for i in range(settings.AXES_FAILURE_LIMIT):
        email = "anna@example.lv" if i % 2 else "ANNA@example.lv"
        login(client, email, "nepareiza-parole")
    assert login(client, "Anna@Example.LV", TEST_PASSWORD).status_code == 429
