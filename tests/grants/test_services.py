"""Grant services: who may request, approve, reject and revoke; narrowing; audit; quota."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from dagr.accounts.models import Institution, Membership
from dagr.audit.models import AdminEntry
from dagr.catalog.models import Dataset
from dagr.core.errors import Conflict, PermissionDenied, ValidationError
from dagr.grants.errors import QuotaExceeded
from dagr.grants.models import Grant, GrantUsage
from dagr.grants.services import (
    grant_approve,
    grant_reject,
    grant_revoke,
    grant_use_register,
)
from tests.factories import make_institution, make_user
from tests.grants.factories import make_approved, make_dataset, make_request, make_world

pytestmark = pytest.mark.django_db


def test_request_stores_the_requested_version_and_audits():
    w = make_world()
    grant = make_request(w)
    assert grant.status == Grant.Status.REQUESTED
    assert grant.requested_fields == [
        "personal_code", "name", "birth_date", "board_members", "board_members.role",
    ]  # fmt: skip
    assert grant.requested_conditions == [
        {"field": "birth_date", "op": "older_than", "value": {"years": 18}}
    ]
    assert grant.fields == [] and grant.permission_number == ""
    entry = AdminEntry.objects.get(action="grants.grant.requested")
    assert entry.target_id == str(grant.pk) and entry.institution_id == w.recipient.pk


def test_only_recipient_representatives_of_that_institution_may_request():
    w = make_world()
    other = make_institution(kind=Institution.Kind.RECIPIENT)
    for actor, recipient in [
        (w.provider_rep, w.recipient),  # a provider representative
        (w.recipient_rep, other),  # another institution
        (w.admin, w.recipient),  # administrators do not ask on anyone's behalf
    ]:
        with pytest.raises(PermissionDenied):
            make_request(w, actor=actor, recipient=recipient)
    provider_only = make_institution(kind=Institution.Kind.PROVIDER)
    rep = make_user(institution=provider_only, roles=(Membership.Role.RECIPIENT,))
    with pytest.raises(PermissionDenied):
        make_request(w, actor=rep, recipient=provider_only)
    assert not Grant.objects.exists()


def test_request_validates_fields_conditions_and_texts():
    w = make_world()
    with pytest.raises(ValidationError) as info:
        make_request(w, fields=["nope"])
    assert info.value.code == "invalid_fields"
    with pytest.raises(ValidationError) as info:
        make_request(w, conditions=[{"field": "name", "op": "gt", "value": 1}])
    assert info.value.code == "invalid_conditions"
    with pytest.raises(ValidationError) as info:
        make_request(w, legal_basis="  ")
    assert info.value.code == "required"
    sandbox = make_dataset(provider=w.provider, status=Dataset.Status.SANDBOX)
    with pytest.raises(Conflict):
        make_request(w, dataset=sandbox)
    assert not Grant.objects.exists()


def test_provider_approves_narrowed_and_it_stays_visible():
    w = make_world()
    grant = make_request(w)
    extra = {"field": "resident", "op": "eq", "value": True}
    approved = grant_approve(
        actor=w.provider_rep,
        grant=grant,
        permission_number=" ATL-2026/15 ",
        fields=["personal_code", "birth_date"],
        conditions=[*grant.requested_conditions, extra],
        valid_until=date.today() + timedelta(days=365),
        quota=1000,
        note="Vārds nav nepieciešams",
    )
    approved.refresh_from_db()
    assert approved.status == Grant.Status.APPROVED
    assert approved.fields == ["personal_code", "birth_date"]
    assert approved.requested_fields[:3] == ["personal_code", "name", "birth_date"]
    assert approved.conditions[-1] == extra
    assert approved.permission_number == "ATL-2026/15"
    assert approved.is_narrowed and approved.quota == 1000
    assert approved.valid_from == timezone.localdate()
    entry = AdminEntry.objects.get(action="grants.grant.approved")
    assert entry.changes["narrowed"] is True and entry.changes["status"] == [
        "requested",
        "approved",
    ]


def test_approval_cannot_widen():
    w = make_world()
    grant = make_request(w)
    with pytest.raises(ValidationError) as info:
        grant_approve(actor=w.provider_rep, grant=grant, permission_number="X", fields=["income"])
    assert info.value.code == "fields_not_requested"
    with pytest.raises(ValidationError) as info:
        grant_approve(actor=w.provider_rep, grant=grant, permission_number="X", conditions=[])
    assert info.value.code == "conditions_removed"
    grant.refresh_from_db()
    assert grant.status == Grant.Status.REQUESTED


def test_approval_checks_number_validity_and_quota():
    w = make_world()
    make_approved(w, "ATL-1")
    second = make_request(w)
    with pytest.raises(Conflict) as info:
        grant_approve(actor=w.provider_rep, grant=second, permission_number="ATL-1")
    assert info.value.code == "permission_number_taken"
    with pytest.raises(ValidationError) as info:
        grant_approve(
            actor=w.provider_rep,
            grant=second,
            permission_number="ATL-2",
            valid_from=date(2026, 5, 1),
            valid_until=date(2026, 4, 30),
        )
    assert info.value.code == "invalid_validity"
    with pytest.raises(ValidationError):
        grant_approve(actor=w.provider_rep, grant=second, permission_number="")
    # The same number for another dataset is fine: unique per dataset.
    other = make_world()
    assert make_approved(other, "ATL-1").status == Grant.Status.APPROVED


def test_who_may_decide():
    w = make_world()
    grant = make_request(w)
    other_provider = make_institution(kind=Institution.Kind.PROVIDER)
    stranger = make_user(institution=other_provider, roles=(Membership.Role.PROVIDER,))
    signatory = make_user(institution=w.provider, roles=(Membership.Role.SIGNATORY,))
    for actor in (stranger, w.recipient_rep, signatory):
        with pytest.raises(PermissionDenied):
            grant_approve(actor=actor, grant=grant, permission_number="X")
        with pytest.raises(PermissionDenied):
            grant_reject(actor=actor, grant=grant, note="nē")
    grant.refresh_from_db()
    assert grant.status == Grant.Status.REQUESTED
    assert grant_approve(actor=w.admin, grant=grant, permission_number="X").status == "approved"


def test_recipient_who_also_represents_the_provider_may_approve_own_request():
    w = make_world()
    Membership.objects.create(
        user=w.recipient_rep, institution=w.provider, role=Membership.Role.PROVIDER
    )
    grant = make_request(w)
    approved = grant_approve(actor=w.recipient_rep, grant=grant, permission_number="SELF-1")
    assert approved.status == Grant.Status.APPROVED


def test_reject_needs_a_note_and_decides_once():
    w = make_world()
    grant = make_request(w)
    with pytest.raises(ValidationError):
        grant_reject(actor=w.provider_rep, grant=grant, note=" ")
    rejected = grant_reject(actor=w.provider_rep, grant=grant, note="Nav tiesiskā pamata")
    assert rejected.status == Grant.Status.REJECTED and rejected.decided_by == w.provider_rep
    with pytest.raises(Conflict) as info:
        grant_approve(actor=w.provider_rep, grant=grant, permission_number="X")
    assert info.value.code == "grant_already_decided"
    assert AdminEntry.objects.filter(action="grants.grant.rejected").count() == 1


def test_revoke_by_provider_or_recipient_not_by_strangers():
    w = make_world()
    grant = make_approved(w)
    stranger = make_user(
        institution=make_institution(kind=Institution.Kind.RECIPIENT),
        roles=(Membership.Role.RECIPIENT,),
    )
    with pytest.raises(PermissionDenied):
        grant_revoke(actor=stranger, grant=grant)
    revoked = grant_revoke(actor=w.recipient_rep, grant=grant, note="Vairs nav vajadzīgs")
    assert revoked.status == Grant.Status.REVOKED
    with pytest.raises(Conflict):
        grant_revoke(actor=w.provider_rep, grant=grant)
    assert AdminEntry.objects.filter(action="grants.grant.revoked").count() == 1


def test_effective_status_expired_and_not_yet_valid():
    w = make_world()
    grant = make_approved(w, valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 30))
    assert grant.effective_status(date(2025, 12, 31)) == Grant.NOT_YET_VALID
    assert grant.effective_status(date(2026, 6, 30)) == Grant.Status.APPROVED
    assert grant.effective_status(date(2026, 7, 1)) == Grant.EXPIRED


def test_daily_quota_counts_and_stops():
    w = make_world()
    grant = make_approved(w, quota=3)
    day = date(2026, 3, 1)
    for _ in range(3):
        grant_use_register(grant_id=grant.pk, quota=3, today=day)
    assert GrantUsage.objects.get(grant=grant, day=day).count == 3
    with pytest.raises(QuotaExceeded) as info:
        grant_use_register(grant_id=grant.pk, quota=3, today=day)
    assert info.value.code == "quota_exceeded" and info.value.status == 429
    assert GrantUsage.objects.get(grant=grant, day=day).count == 3  # the refused one not counted
    grant_use_register(grant_id=grant.pk, quota=3, today=day + timedelta(days=1))
    assert GrantUsage.objects.get(grant=grant, day=day + timedelta(days=1)).count == 1
    with pytest.raises(QuotaExceeded):
        grant_use_register(grant_id=grant.pk, quota=3, count=5, today=date(2026, 3, 5))


def test_grants_without_quota_write_no_counter_row():
    w = make_world()
    grant = make_approved(w)
    grant_use_register(grant_id=grant.pk, quota=None, count=10, today=date(2026, 3, 1))
    assert not GrantUsage.objects.filter(grant=grant).exists()
