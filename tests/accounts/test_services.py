"""Services of the accounts capability: each write checks permission, validates, changes and
writes an audit entry with the right diff in the same transaction; e-mails go after the commit."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher

from dagr.accounts import applications, services
from dagr.accounts.models import Application, Institution, Membership, User
from dagr.audit.models import AdminEntry
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.conftest import TEST_PASSWORD
from tests.factories import make_admin, make_institution, make_user, next_company_code

pytestmark = pytest.mark.django_db

Role = Membership.Role


def last_entry(action: str) -> AdminEntry:
    entry = AdminEntry.objects.filter(action=action).order_by("-id").first()
    assert entry is not None, f"no audit entry {action}"
    return entry


# --- institutions ------------------------------------------------------------------------------


def test_institution_create_normalises_and_audits():
    admin = make_admin()
    code = next_company_code()
    institution = services.institution_create(
        actor=admin,
        name="Valsts ieņēmumu dienests",
        registration_number=f" {code[:5]} {code[5:]} ",
        kind=Institution.Kind.RECIPIENT,
        phone="67 120 000",
    )
    assert institution.registration_number == code
    assert institution.phone == "+37167120000"
    entry = last_entry("accounts.institution.created")
    assert entry.actor_id == admin.pk
    assert entry.target_id == str(institution.pk)
    assert entry.changes["registration_number"] == [None, code]
    assert entry.changes["kind"] == [None, "recipient"]


@pytest.mark.parametrize("number", ["12345678901", "4000000000", "abc", ""])
def test_institution_create_rejects_invalid_registration_number(number):
    with pytest.raises(ValidationError) as info:
        services.institution_create(
            actor=SYSTEM, name="X", registration_number=number, kind=Institution.Kind.BOTH
        )
    assert info.value.code == "invalid_registration_number"
    assert info.value.errors[0]["location"] == "registration_number"
    assert not Institution.objects.exists()


def test_institution_create_rejects_duplicate_registration_number():
    existing = make_institution()
    with pytest.raises(ValidationError) as info:
        services.institution_create(
            actor=SYSTEM,
            name="Cita",
            registration_number=existing.registration_number,
            kind=Institution.Kind.BOTH,
        )
    assert info.value.code == "duplicate_registration_number"


def test_institution_update_records_only_changed_fields():
    institution = make_institution(name="Vecais nosaukums")
    admin = make_admin()
    services.institution_update(
        actor=admin, institution=institution, name="Jaunais nosaukums", kind=institution.kind
    )
    institution.refresh_from_db()
    assert institution.name == "Jaunais nosaukums"
    entry = last_entry("accounts.institution.updated")
    assert entry.changes == {"name": ["Vecais nosaukums", "Jaunais nosaukums"]}
    # a save without a change writes no entry
    services.institution_update(actor=admin, institution=institution, name="Jaunais nosaukums")
    assert AdminEntry.objects.filter(action="accounts.institution.updated").count() == 1


def test_signatory_cannot_manage_institutions():
    institution = make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    with pytest.raises(PermissionDenied):
        services.institution_update(actor=signatory, institution=institution, name="Mans")
    with pytest.raises(PermissionDenied):
        services.institution_create(
            actor=signatory,
            name="Jauna",
            registration_number=next_company_code(),
            kind=Institution.Kind.BOTH,
        )


# --- users -------------------------------------------------------------------------------------


def test_user_create_with_password_hashes_with_argon2_and_audits():
    institution = make_institution()
    user = services.user_create(
        actor=SYSTEM,
        email="Anna.Liepa@Example.LV",
        first_name="Anna",
        last_name="Liepa",
        phone="20 000 001",
        password=TEST_PASSWORD,
        institution=institution,
        roles=[Role.PROVIDER],
    )
    assert user.email == "anna.liepa@example.lv"
    assert user.phone == "+37120000001"
    assert user.password.startswith("argon2$")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password(TEST_PASSWORD)
    created = last_entry("accounts.user.created")
    assert created.actor_label == "system"
    assert created.changes["email"] == [None, "anna.liepa@example.lv"]
    assert "password" not in created.changes
    granted = last_entry("accounts.membership.granted")
    assert granted.target_id == str(user.pk)
    assert granted.institution_id == institution.pk
    assert granted.changes["role"] == [None, "provider"]


def test_user_create_without_password_sends_set_password_mail(
    mailoutbox, django_capture_on_commit_callbacks
):
    institution = make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_create(
            actor=signatory,
            email="jauns@example.lv",
            first_name="Jauns",
            last_name="Lietotājs",
            institution=institution,
            roles=[Role.RECIPIENT],
        )
    assert not user.has_usable_password()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["jauns@example.lv"]
    assert "/accounts/set-password/" in message.body
    # Latvian first, then English
    assert message.body.index("Sveiki") < message.body.index("Hello")


@pytest.mark.parametrize("phone", ["12345", "+371 1234", "tālrunis"])
def test_user_create_rejects_invalid_phone(phone):
    with pytest.raises(ValidationError) as info:
        services.user_create(
            actor=SYSTEM, email="a@example.lv", first_name="A", last_name="B", phone=phone
        )
    assert info.value.code == "invalid_phone"
    assert not User.objects.filter(email="a@example.lv").exists()


def test_user_create_rejects_duplicate_email_case_insensitively():
    make_user(email="anna@example.lv")
    with pytest.raises(ValidationError) as info:
        services.user_create(actor=SYSTEM, email="ANNA@example.lv", first_name="A", last_name="B")
    assert info.value.code == "duplicate_email"


def test_user_create_rejects_weak_password():
    with pytest.raises(ValidationError) as info:
        services.user_create(
            actor=SYSTEM, email="a@example.lv", first_name="A", last_name="B", password="12345"
        )
    assert info.value.code == "weak_password"
    assert len(info.value.errors) >= 2


def test_user_create_rejects_role_that_does_not_fit_the_institution():
    recipient_only = make_institution(kind=Institution.Kind.RECIPIENT)
    with pytest.raises(ValidationError) as info:
        services.user_create(
            actor=SYSTEM,
            email="a@example.lv",
            first_name="A",
            last_name="B",
            institution=recipient_only,
            roles=[Role.PROVIDER],
        )
    assert info.value.code == "role_not_allowed"


def test_signatory_cannot_create_admin_or_users_of_other_institutions():
    mine, other = make_institution(), make_institution()
    signatory = make_user(institution=mine, roles=(Role.SIGNATORY,))
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=signatory,
            email="x@example.lv",
            first_name="X",
            last_name="Y",
            institution=mine,
            is_portal_admin=True,
        )
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=signatory, email="x@example.lv", first_name="X", last_name="Y", institution=other
        )
    with pytest.raises(PermissionDenied):
        services.user_create(actor=signatory, email="x@example.lv", first_name="X", last_name="Y")
    assert not User.objects.filter(email="x@example.lv").exists()


def test_user_update_diff_and_self_service():
    institution = make_institution()
    user = make_user(institution=institution, roles=(Role.RECIPIENT,), position="Referents")
    services.user_update(
        actor=user, user=user, position="Vecākais referents", phone="+371 26000000"
    )
    entry = last_entry("accounts.user.updated")
    assert entry.actor_id == user.pk
    assert entry.changes == {
        "phone": ["", "+37126000000"],
        "position": ["Referents", "Vecākais referents"],
    }
    # a user may not change their own e-mail or make themselves an administrator
    with pytest.raises(PermissionDenied):
        services.user_update(actor=user, user=user, email="cits@example.lv")
    with pytest.raises(PermissionDenied):
        services.user_update(actor=user, user=user, is_portal_admin=True)


def test_signatory_cannot_escalate_or_edit_users_of_other_institutions():
    mine, other = make_institution(), make_institution()
    signatory = make_user(institution=mine, roles=(Role.SIGNATORY,))
    colleague = make_user(institution=mine, roles=(Role.RECIPIENT,))
    stranger = make_user(institution=other, roles=(Role.RECIPIENT,))
    admin = make_admin()

    services.user_update(actor=signatory, user=colleague, position="Jurists")
    with pytest.raises(PermissionDenied):
        services.user_update(actor=signatory, user=colleague, is_portal_admin=True)
    with pytest.raises(PermissionDenied):
        services.user_update(actor=signatory, user=stranger, position="Jurists")
    with pytest.raises(PermissionDenied):
        services.user_set_status(actor=signatory, user=stranger, status=User.Status.BLOCKED)
    with pytest.raises(PermissionDenied):
        services.user_set_status(actor=signatory, user=admin, status=User.Status.BLOCKED)
    with pytest.raises(PermissionDenied):
        services.membership_grant(
            actor=signatory, user=stranger, institution=mine, role=Role.RECIPIENT
        )
    with pytest.raises(PermissionDenied):
        services.membership_grant(
            actor=signatory, user=colleague, institution=other, role=Role.SIGNATORY
        )
    colleague.refresh_from_db()
    assert not colleague.is_portal_admin
    assert not Membership.objects.filter(user=stranger, institution=mine).exists()


def test_block_and_unblock_are_audited_with_reason():
    institution = make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    user = make_user(institution=institution, roles=(Role.RECIPIENT,))
    services.user_set_status(
        actor=signatory, user=user, status=User.Status.BLOCKED, reason="Aizgāja no darba"
    )
    user.refresh_from_db()
    assert user.status == User.Status.BLOCKED and not user.is_active
    entry = last_entry("accounts.user.blocked")
    assert entry.changes == {"status": ["active", "blocked"], "reason": "Aizgāja no darba"}
    services.user_set_status(actor=signatory, user=user, status=User.Status.ACTIVE)
    assert last_entry("accounts.user.unblocked").changes == {"status": ["blocked", "active"]}


def test_nobody_blocks_themselves_or_the_last_admin():
    admin = make_admin()
    with pytest.raises(Conflict) as info:
        services.user_set_status(actor=admin, user=admin, status=User.Status.BLOCKED)
    assert info.value.code == "cannot_block_self"
    with pytest.raises(Conflict) as info:
        services.user_set_status(actor=SYSTEM, user=admin, status=User.Status.BLOCKED)
    assert info.value.code == "last_admin"
    with pytest.raises(Conflict):
        services.user_update(actor=admin, user=admin, is_portal_admin=False)
    admin.refresh_from_db()
    assert admin.is_portal_admin and admin.status == User.Status.ACTIVE
    # with a second administrator, one may be blocked
    second = make_admin()
    services.user_set_status(actor=second, user=admin, status=User.Status.BLOCKED)
    admin.refresh_from_db()
    assert admin.status == User.Status.BLOCKED


def test_membership_grant_is_idempotent_and_revoke_is_audited():
    institution = make_institution()
    user = make_user(institution=institution, roles=(Role.RECIPIENT,))
    first = services.membership_grant(
        actor=SYSTEM, user=user, institution=institution, role=Role.PROVIDER
    )
    again = services.membership_grant(
        actor=SYSTEM, user=user, institution=institution, role=Role.PROVIDER
    )
    assert first.pk == again.pk
    assert AdminEntry.objects.filter(action="accounts.membership.granted").count() == 1
    services.membership_revoke(actor=SYSTEM, user=user, institution=institution, role=Role.PROVIDER)
    entry = last_entry("accounts.membership.revoked")
    assert entry.changes["role"] == ["provider", None]
    assert not Membership.objects.filter(user=user, role=Role.PROVIDER).exists()
    with pytest.raises(NotFound):
        services.membership_revoke(
            actor=SYSTEM, user=user, institution=institution, role=Role.PROVIDER
        )


def test_change_password_requires_old_password_and_audits_masked():
    user = make_user()
    with pytest.raises(ValidationError) as info:
        services.user_change_password(
            actor=user, user=user, old_password="nepareiza", new_password="Jauna-Parole-2026"
        )
    assert info.value.code == "wrong_password"
    services.user_change_password(
        actor=user, user=user, old_password=TEST_PASSWORD, new_password="Jauna-Parole-2026"
    )
    user.refresh_from_db()
    assert user.check_password("Jauna-Parole-2026")
    assert last_entry("accounts.user.password_changed").changes == {"password": ["***", "***"]}


# --- applications ------------------------------------------------------------------------------


def submit(institution: Institution, **overrides: object) -> Application:
    fields: dict[str, object] = {
        "email": "pieteicejs@example.lv",
        "first_name": "Pēteris",
        "last_name": "Kalniņš",
        "phone": "29 123 456",
        "position": "Analītiķis",
        "password": TEST_PASSWORD,
        "institution": institution,
        "roles": [Role.RECIPIENT],
        "message": "Vajag piekļuvi",
    }
    fields.update(overrides)
    return applications.application_submit(**fields)  # type: ignore[arg-type]


def test_application_submit_creates_pending_user_and_mails(
    mailoutbox, django_capture_on_commit_callbacks
):
    institution = make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    make_admin(email="admin@example.lv")
    with django_capture_on_commit_callbacks(execute=True):
        application = submit(institution)
    user = application.user
    assert user.status == User.Status.PENDING and not user.is_active
    assert user.phone == "+37129123456"
    assert application.roles == ["recipient"]
    entry = last_entry("accounts.application.submitted")
    assert entry.actor_id == user.pk
    assert entry.institution_id == institution.pk
    # the e-mails follow from the audit entry (dagr.notifications, tested there)
    assert mailoutbox == []
    assert signatory.pk


def test_application_without_signatory_goes_to_admins(
    mailoutbox, django_capture_on_commit_callbacks
):
    institution = make_institution()
    admin = make_admin()
    with django_capture_on_commit_callbacks(execute=True):
        submit(institution)
    from dagr.notifications.dispatch import dispatch_all

    dispatch_all()
    assert admin.notifications.get().kind == "application_received"


def test_application_submit_validates():
    institution = make_institution(kind=Institution.Kind.RECIPIENT)
    with pytest.raises(ValidationError) as info:
        submit(institution, roles=[])
    assert info.value.code == "roles_required"
    with pytest.raises(ValidationError) as info:
        submit(institution, roles=[Role.PROVIDER])
    assert info.value.code == "role_not_allowed"
    with pytest.raises(ValidationError) as info:
        submit(institution, phone="000")
    assert info.value.code == "invalid_phone"
    with pytest.raises(ValidationError) as info:
        submit(institution, password="parole")
    assert info.value.code == "weak_password"
    make_user(email="aiznemts@example.lv")
    with pytest.raises(ValidationError) as info:
        submit(institution, email="aiznemts@example.lv")
    assert info.value.code == "duplicate_email"
    inactive = make_institution(status=Institution.Status.INACTIVE)
    with pytest.raises(ValidationError):
        submit(inactive)
    assert not Application.objects.exists()


def test_approve_activates_and_grants_roles(mailoutbox, django_capture_on_commit_callbacks):
    institution = make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    application = submit(institution, roles=[Role.RECIPIENT, Role.PROVIDER])
    with django_capture_on_commit_callbacks(execute=True):
        applications.application_approve(
            actor=signatory, application=application, roles=[Role.RECIPIENT], note="Labi"
        )
    application.refresh_from_db()
    user = application.user
    user.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert application.decided_by == signatory
    assert user.status == User.Status.ACTIVE
    assert list(user.memberships.values_list("role", flat=True)) == ["recipient"]
    entry = last_entry("accounts.application.approved")
    assert entry.changes["roles"] == [["recipient", "provider"], ["recipient"]]
    assert last_entry("accounts.user.activated").changes == {"status": ["pending", "active"]}
    assert mailoutbox == []  # the e-mails follow from the audit entry (dagr.notifications)
    with pytest.raises(Conflict):
        applications.application_reject(actor=signatory, application=application)


def test_reject_keeps_user_pending_and_allows_a_new_application():
    institution = make_institution()
    application = submit(institution)
    applications.application_reject(actor=SYSTEM, application=application, note="Nav pamata")
    application.refresh_from_db()
    assert application.status == Application.Status.REJECTED
    assert application.decision_note == "Nav pamata"
    assert application.user.status == User.Status.PENDING
    assert last_entry("accounts.application.rejected").changes["note"] == [None, "Nav pamata"]
    again = submit(institution, first_name="Pēteris Jānis")
    assert again.user_id == application.user_id
    assert again.status == Application.Status.PENDING


def test_signatory_of_another_institution_cannot_decide():
    institution, other = make_institution(), make_institution()
    outsider = make_user(institution=other, roles=(Role.SIGNATORY,))
    application = submit(institution)
    with pytest.raises(NotFound):
        applications.application_approve(actor=outsider, application=application)
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING
    assert application.user.status == User.Status.PENDING
