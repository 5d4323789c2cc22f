"""The one place that answers "which grants may this institution use" (``grants_usable_by``) and
"which grants were issued to it, usable or not" (``grants_issued_to``)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from dagr.catalog.models import Dataset
from dagr.grants.models import Grant
from dagr.grants.selectors import grants_issued, grants_issued_to, grants_usable_by
from dagr.grants.services import grant_reject, grant_revoke
from tests.factories import make_institution
from tests.grants.factories import make_approved, make_dataset, make_request, make_world

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 1)


def usable(w, **kwargs):
    return set(
        grants_usable_by(institution_ids=[w.recipient.pk], on=TODAY, **kwargs).values_list(
            "permission_number", flat=True
        )
    )


def dated(grant, valid_from, valid_until):
    """Set the validity period as stored (approval fills an empty start with the real today)."""
    Grant.objects.filter(pk=grant.pk).update(valid_from=valid_from, valid_until=valid_until)
    return grant


def test_valid_today_is_usable_and_dates_are_inclusive():
    w = make_world()
    dated(make_approved(w, "OPEN"), None, None)
    make_approved(w, "FROM-TODAY", valid_from=TODAY)
    make_approved(w, "UNTIL-TODAY", valid_from=date(2026, 1, 1), valid_until=TODAY)
    assert usable(w) == {"OPEN", "FROM-TODAY", "UNTIL-TODAY"}


def test_future_validity_is_usable_only_when_asked_for():
    w = make_world()
    dated(make_approved(w, "LATER"), TODAY + timedelta(days=1), None)
    assert usable(w) == set()
    assert usable(w, not_yet_valid=True) == {"LATER"}


def test_expired_revoked_requested_and_rejected_are_never_usable():
    w = make_world()
    dated(make_approved(w, "EXPIRED"), None, TODAY - timedelta(days=1))
    grant_revoke(actor=w.provider_rep, grant=make_approved(w, "REVOKED"))
    make_request(w)
    grant_reject(actor=w.provider_rep, grant=make_request(w), note="Nav pamata")
    assert usable(w) == set()
    assert usable(w, not_yet_valid=True) == set()
    # Issued (and so listed for the recipient, to explain why it cannot be used): the expired
    # and the revoked grant, not the request or the rejected one.
    issued = grants_issued_to(institution_ids=[w.recipient.pk])
    assert set(issued.values_list("permission_number", flat=True)) == {"EXPIRED", "REVOKED"}


def test_another_institutions_grant_is_not_usable():
    w = make_world()
    make_approved(w, "THEIRS")
    other = make_institution()
    assert grants_usable_by(institution_ids=[other.pk], on=TODAY).count() == 0
    assert grants_issued_to(institution_ids=[other.pk]).count() == 0
    assert grants_usable_by(institution_ids=[], on=TODAY).count() == 0


def test_non_production_dataset():
    """A grant stays usable when its dataset leaves production (the per-request check decides
    through the dataset itself); the data viewer lists production datasets only."""
    w = make_world()
    dated(make_approved(w, "ATL-1"), None, None)
    Dataset.objects.filter(pk=w.dataset.pk).update(status=Dataset.Status.RETIRED)
    assert usable(w) == {"ATL-1"}
    assert grants_issued_to(institution_ids=[w.recipient.pk]).count() == 1
    assert grants_issued_to(institution_ids=[w.recipient.pk], production_only=True).count() == 0


def test_usable_agrees_with_effective_status_on_random_grants():
    """The SQL filter and the model's ``effective_status`` (the Python definition) agree for
    every combination of status and validity dates around the day asked about."""
    rng = random.Random(11)
    w = make_world()
    second = make_dataset(provider=w.provider)
    days = [None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1)]
    for i in range(40):
        valid_from, valid_until = rng.choice(days), rng.choice(days)
        w.dataset = rng.choice([w.dataset, second])
        grant = dated(make_approved(w, f"N-{i}"), valid_from, valid_until)
        if rng.random() < 0.2:
            grant_revoke(actor=w.provider_rep, grant=grant)
    everything = list(Grant.objects.filter(recipient=w.recipient))
    for not_yet_valid in (False, True):
        accepted = {Grant.Status.APPROVED} | ({Grant.NOT_YET_VALID} if not_yet_valid else set())
        expected = {g.pk for g in everything if g.effective_status(TODAY) in accepted}
        got = set(
            grants_usable_by(
                institution_ids=[w.recipient.pk], on=TODAY, not_yet_valid=not_yet_valid
            ).values_list("pk", flat=True)
        )
        assert got == expected
    assert {g.pk for g in grants_issued()} == {g.pk for g in everything}
