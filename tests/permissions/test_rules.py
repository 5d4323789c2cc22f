"""The role rules of institutions, users and applications (``dagr.permissions.rules``)."""

from __future__ import annotations

import pytest

from dagr.accounts.models import Application, Institution, Membership, User
from dagr.core.actors import SYSTEM
from dagr.permissions import rules
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture
def w():
    mine, other = make_institution(), make_institution()
    return {
        "mine": mine,
        "other": other,
        "admin": make_admin(),
        "signatory": make_user(institution=mine, roles=(Role.SIGNATORY,)),
        "member": make_user(institution=mine, roles=(Role.RECIPIENT,)),
        "stranger": make_user(institution=other, roles=(Role.RECIPIENT,)),
    }


def test_anonymous_blocked_and_pending_have_no_rights(w):
    from django.contrib.auth.models import AnonymousUser

    blocked = make_user(institution=w["mine"], roles=(Role.SIGNATORY,), status=User.Status.BLOCKED)
    for actor in (None, AnonymousUser(), blocked):
        assert not rules.is_authenticated(actor)
        assert not rules.can_manage_users_of(actor, w["mine"])
        assert not rules.can_view_user(actor, w["member"])
        assert not rules.can_manage_some_users(actor)


def test_system_actor_is_an_administrator(w):
    assert rules.is_portal_admin(SYSTEM)
    assert rules.can_manage_institutions(SYSTEM)
    assert rules.can_grant_role(SYSTEM, w["stranger"], w["mine"])


def test_a_connection_holds_no_portal_roles(w):
    """A technical connection acts for its institution in the connection rules only; asked a
    portal role rule it answers no (it used to raise TypeError: the rule looked memberships up
    with the connection object as the user)."""
    from dagr.records.services import ConnectionActor

    connection = ConnectionActor(1, "client", w["mine"].pk, "recipient")
    assert rules.institution_ids_with_role(connection, Role.RECIPIENT, Role.SIGNATORY) == set()
    assert not rules.can_manage_users_of(connection, w["mine"])
    assert not rules.can_view_granted_data(connection)
    assert rules.can_manage_record_sets_of(connection, w["mine"])


def test_signatory_manages_only_their_institution(w):
    s = w["signatory"]
    assert rules.can_manage_users_of(s, w["mine"])
    assert not rules.can_manage_users_of(s, w["other"])
    assert rules.can_manage_user(s, w["member"])
    assert not rules.can_manage_user(s, w["stranger"])
    assert not rules.can_manage_user(s, w["admin"])
    assert rules.can_view_user(s, w["member"])
    assert not rules.can_view_user(s, w["stranger"])
    assert set(rules.manageable_users(s)) == {s, w["member"]}
    assert list(rules.manageable_institutions(s)) == [w["mine"]]
    assert not rules.can_manage_institutions(s)
    assert not rules.can_set_portal_admin(s)
    assert not rules.can_view_admin_audit(s)


def test_a_user_shared_with_another_institution_is_not_blocked_by_one_signatory(w):
    shared = make_user(institution=w["mine"], roles=(Role.RECIPIENT,))
    Membership.objects.create(user=shared, institution=w["other"], role=Role.RECIPIENT)
    s = w["signatory"]
    assert rules.can_view_user(s, shared)
    assert not rules.can_manage_user(s, shared)  # personal data and status: not alone
    assert rules.can_grant_role(s, shared, w["mine"])  # roles in their own institution: yes
    assert not rules.can_grant_role(s, shared, w["other"])


def test_grant_role_needs_a_tie_to_the_institution(w):
    s = w["signatory"]
    assert rules.can_grant_role(s, w["member"], w["mine"])
    assert not rules.can_grant_role(s, w["stranger"], w["mine"])  # no claiming other people
    applicant = make_user(status=User.Status.PENDING)
    Application.objects.create(user=applicant, institution=w["mine"], roles=["recipient"])
    assert rules.can_grant_role(s, applicant, w["mine"])
    assert not rules.can_grant_role(s, w["admin"], w["mine"])


def test_applications_are_decided_by_their_institution(w):
    app = Application.objects.create(
        user=make_user(status=User.Status.PENDING), institution=w["mine"], roles=["recipient"]
    )
    assert rules.can_decide_application(w["signatory"], app)
    assert rules.can_decide_application(w["admin"], app)
    assert not rules.can_decide_application(w["member"], app)
    assert not rules.can_decide_application(
        make_user(institution=w["other"], roles=(Role.SIGNATORY,)), app
    )


def test_everyone_sees_themselves_admin_sees_all(w):
    assert rules.can_view_user(w["stranger"], w["stranger"])
    assert not rules.can_view_user(w["stranger"], w["member"])
    assert set(rules.manageable_users(w["admin"])) == set(User.objects.all())
    assert not rules.manageable_users(w["member"]).exists()


def test_inactive_institution_gives_no_rights(w):
    Institution.objects.filter(pk=w["mine"].pk).update(status=Institution.Status.INACTIVE)
    signatory = User.objects.get(pk=w["signatory"].pk)  # fresh: role cache is per object
    assert not rules.can_manage_users_of(signatory, w["mine"])


def test_roles_allowed_follow_the_institution_kind():
    assert rules.roles_allowed_for(make_institution(kind=Institution.Kind.PROVIDER)) == [
        "signatory",
        "provider",
    ]
    assert rules.roles_allowed_for(make_institution(kind=Institution.Kind.RECIPIENT)) == [
        "signatory",
        "recipient",
    ]
    assert len(rules.roles_allowed_for(make_institution(kind=Institution.Kind.BOTH))) == 3
