"""Two-factor authentication: enrolment, the login's code step, recovery codes, the attempt
limit, enforcement for administrators and signatories, and the reset by a signatory."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from dagr.accounts import twofactor
from dagr.accounts.models import Membership, RecoveryCode, TwoFactorDevice
from dagr.audit.models import AdminEntry
from dagr.core import crypto
from dagr.core.errors import PermissionDenied, ValidationError
from tests.conftest import TEST_PASSWORD
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db
Role = Membership.Role


def enrol(user) -> tuple[str, list[str]]:
    """Set up an authenticator for ``user`` through the service; (secret, recovery codes)."""
    device = twofactor.enrolment_start(user=user)
    secret = twofactor.device_secret(device)
    codes = twofactor.enrolment_confirm(user=user, code=pyotp.TOTP(secret).now())
    return secret, codes


def next_code(secret: str) -> str:
    """A code of the next time step (the current one was used by ``enrol``: replay refused)."""
    return pyotp.TOTP(secret).at(int(time.time()) + 30)


def password_step(client, user, next_url: str = ""):
    data = {"username": user.email, "password": TEST_PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("accounts:login"), data)


def test_secret_encrypted_codes_hashed_and_enrolment_audited():
    user = make_user()
    secret, codes = enrol(user)
    device = TwoFactorDevice.objects.get(user=user)
    assert secret not in device.secret and crypto.decrypt(device.secret) == secret
    assert device.confirmed_at is not None
    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert len(codes) == 10 and len(stored) == 10
    assert not set(codes) & stored
    assert {twofactor.recovery_code_hash(user.pk, c) for c in codes} == stored
    assert AdminEntry.objects.filter(action="accounts.two_factor.enabled", target_id=user.pk)


def test_enrolment_page_shows_svg_qr_and_secret_and_confirms(client):
    user = make_user()
    client.force_login(user)
    page = client.get(reverse("accounts:two_factor_enrol"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "style=" not in html.split("<svg", 1)[1].split("</svg>")[0]
    secret = twofactor.device_secret(TwoFactorDevice.objects.get(user=user))
    assert secret in html
    wrong = client.post(reverse("accounts:two_factor_enrol"), {"code": "000000"})
    assert wrong.status_code == 200 and not twofactor.has_two_factor(user)
    ok = client.post(reverse("accounts:two_factor_enrol"), {"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 200
    assert twofactor.has_two_factor(user)
    assert ok.content.decode().count("<code>") == 10  # the recovery codes, shown once


def test_login_asks_for_the_code_after_the_password(client):
    user = make_user()
    secret, _codes = enrol(user)
    answer = password_step(client, user, next_url=reverse("accounts:profile"))
    assert answer.status_code == 302 and answer.url == reverse("accounts:login_code")
    assert "_auth_user_id" not in client.session  # not logged in yet
    assert client.get(reverse("accounts:profile")).status_code == 302
    wrong = client.post(reverse("accounts:login_code"), {"code": "123456"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    right = client.post(reverse("accounts:login_code"), {"code": next_code(secret)})
    assert right.status_code == 302 and right.url == reverse("accounts:profile")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_a_code_works_once(client):
    user = make_user()
    secret, _codes = enrol(user)
    code = next_code(secret)
    assert twofactor.code_verify(user=user, code=code) == "totp"
    with pytest.raises(ValidationError) as refused:
        twofactor.code_verify(user=user, code=code)
    assert refused.value.code == "wrong_code"


def test_recovery_code_logs_in_once_and_is_audited(client):
    user = make_user()
    _secret, codes = enrol(user)
    password_step(client, user)
    answer = client.post(reverse("accounts:login_code"), {"code": codes[0].upper()})
    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AdminEntry.objects.filter(action="accounts.two_factor.recovery_code_used").count() == 1
    client.logout()
    password_step(client, user)
    again = client.post(reverse("accounts:login_code"), {"code": codes[0]})
    assert again.status_code == 200 and "_auth_user_id" not in client.session


def test_code_attempts_are_limited(client, settings):
    settings.DAGR_TWO_FACTOR_MAX_ATTEMPTS = 3
    user = make_user()
    secret, _codes = enrol(user)
    password_step(client, user)
    for _ in range(3):
        assert client.post(reverse("accounts:login_code"), {"code": "000000"}).status_code == 200
    locked = client.post(reverse("accounts:login_code"), {"code": next_code(secret)})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # a new password step does not reset the count: the right code is still refused
    password_step(client, user)
    still = client.post(reverse("accounts:login_code"), {"code": next_code(secret)})
    assert still.status_code == 429


def test_the_code_step_expires_and_needs_the_password_first(client):
    assert client.get(reverse("accounts:login_code")).url == reverse("accounts:login")


@pytest.mark.usefixtures("two_factor_enforced")
@pytest.mark.parametrize("who", ["admin", "signatory"])
def test_administrators_and_signatories_must_enrol_first(client, who):
    institution = make_institution()
    user = (
        make_admin()
        if who == "admin"
        else make_user(institution=institution, roles=(Role.SIGNATORY,))
    )
    answer = password_step(client, user)
    assert answer.status_code == 302
    enrol_url = reverse("accounts:two_factor_enrol")
    for url in (reverse("portal:dashboard"), reverse("accounts:users")):
        assert client.get(url).url == enrol_url
    api = client.get("/api/v1/connections")
    assert api.status_code == 403 and api.json()["code"] == "two_factor_required"
    assert client.get(enrol_url).status_code == 200
    secret = twofactor.device_secret(TwoFactorDevice.objects.get(user=user))
    client.post(enrol_url, {"code": pyotp.TOTP(secret).now()})
    assert client.get(reverse("portal:dashboard")).status_code == 200


@pytest.mark.usefixtures("two_factor_enforced")
def test_optional_for_others_and_enrolment_ends_the_other_sessions(client):
    institution = make_institution()
    member = make_user(institution=institution, roles=(Role.RECIPIENT,))
    client.force_login(member)
    assert client.get(reverse("portal:dashboard")).status_code == 200  # not required
    other = type(client)()
    other.force_login(member)
    other.get(reverse("accounts:two_factor_enrol"))
    secret = twofactor.device_secret(TwoFactorDevice.objects.get(user=member))
    other.post(reverse("accounts:two_factor_enrol"), {"code": pyotp.TOTP(secret).now()})
    assert twofactor.has_two_factor(member)
    assert other.get(reverse("portal:dashboard")).status_code == 200
    answer = client.get(reverse("portal:dashboard"))  # a session that never passed a code
    assert answer.status_code == 302 and answer.url.startswith(reverse("accounts:login"))


@pytest.mark.usefixtures("two_factor_enforced")
def test_a_session_without_the_code_step_is_logged_out(client):
    member = make_user()
    enrol(member)
    client.force_login(member)  # as if the code step had been skipped
    answer = client.get(reverse("portal:dashboard"))
    assert answer.status_code == 302 and answer.url == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_optional_user_may_turn_it_off_but_a_signatory_may_not(client):
    institution = make_institution()
    member = make_user(institution=institution, roles=(Role.RECIPIENT,))
    secret, _ = enrol(member)
    twofactor.two_factor_disable(user=member, code=next_code(secret))
    assert not twofactor.has_two_factor(member)
    assert AdminEntry.objects.filter(action="accounts.two_factor.disabled")
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    secret, _ = enrol(signatory)
    with pytest.raises(PermissionDenied) as refused:
        twofactor.two_factor_disable(user=signatory, code=next_code(secret))
    assert refused.value.code == "two_factor_required"
    assert twofactor.has_two_factor(signatory)


def test_signatory_sees_who_has_it_on(client):
    institution = make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    on = make_user(institution=institution, roles=(Role.RECIPIENT,), last_name="Ieslēgts")
    make_user(institution=institution, roles=(Role.RECIPIENT,), last_name="Izslēgts")
    enrol(on)
    client.force_login(signatory)
    html = client.get(reverse("accounts:users")).content.decode()
    rows = {r.split("</a>")[0].rsplit(">", 1)[-1]: r for r in html.split("<tr>")[2:]}
    on_row = next(r for name, r in rows.items() if "Ieslēgts" in name)
    off_row = next(r for name, r in rows.items() if "Izslēgts" in name)
    assert "badge-active" in on_row.split("</td>")[-2]
    assert "badge-active" not in off_row.split("</td>")[-2]


def test_reset_by_signatory_ends_sessions_mails_and_audits(
    client, smtp_server, django_capture_on_commit_callbacks
):
    institution, other = make_institution(), make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    member = make_user(institution=institution, roles=(Role.RECIPIENT,))
    enrol(member)
    member_client = type(client)()
    member_client.force_login(member)
    url = reverse("accounts:user_2fa_reset", args=[member.pk])
    # others: anonymous → login, a signatory of another institution → 404, the member → 403
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    client.force_login(make_user(institution=other, roles=(Role.SIGNATORY,)))
    assert client.post(url, {"confirm": "yes"}).status_code == 404
    member_client2 = type(client)()
    member_client2.force_login(make_user(institution=institution, roles=(Role.RECIPIENT,)))
    assert member_client2.post(url, {"confirm": "yes"}).status_code in (403, 404)
    assert twofactor.has_two_factor(member)
    client.force_login(signatory)
    assert client.post(url).status_code == 200  # the confirmation page first
    assert twofactor.has_two_factor(member)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(url, {"confirm": "yes", "reason": "pazaudēts tālrunis"})
    assert answer.status_code == 302
    assert not TwoFactorDevice.objects.filter(user=member).exists()
    assert not RecoveryCode.objects.filter(user=member).exists()
    entry = AdminEntry.objects.get(action="accounts.two_factor.reset")
    assert entry.actor_id == signatory.pk and entry.changes["reason"] == "pazaudēts tālrunis"
    assert member_client.get(reverse("portal:dashboard")).status_code == 302  # session ended
    assert not [
        s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(member.pk)
    ]
    (mail,) = [m for m in smtp_server.messages if m["To"] == member.email]
    assert "divpakāpju" in mail.get_payload(decode=True).decode().lower()
