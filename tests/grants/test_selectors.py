"""Grant reads: visibility, and the hot path ``grant_active_for`` with its per-process cache."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.core.errors import NotFound
from dagr.grants import cache as grant_cache_module
from dagr.grants.cache import grant_cache
from dagr.grants.errors import GrantUnavailable
from dagr.grants.selectors import grant_active_for, grant_get_for, grants_visible_to
from dagr.grants.services import grant_revoke
from tests.factories import make_institution, make_user
from tests.grants.factories import make_approved, make_request, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    grant_cache.invalidate()
    yield
    grant_cache.invalidate()


def active(w, number="ATL-1", today=None):
    return grant_active_for(
        institution_id=w.recipient.pk, dataset_id=w.dataset.pk, permission_number=number,
        today=today,
    )  # fmt: skip


def test_active_grant_carries_fields_conditions_and_sql():
    w = make_world()
    make_approved(w, "ATL-1", fields=["personal_code", "birth_date"])
    grant = active(w)
    assert grant.fields == ("personal_code", "birth_date")
    predicate = grant.predicate(today=date(2026, 3, 1))
    assert predicate({"birth_date": "2008-03-01"}) and not predicate({"birth_date": "2008-03-02"})
    sql, params = grant.where(column="t.data", vendor="postgresql", today=date(2026, 3, 1))
    assert params == ["2008-03-01"] and "birth_date" in sql


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("missing", "grant_missing"),
        ("other_number", "grant_missing"),
        ("requested", "grant_missing"),
        ("revoked", "grant_revoked"),
        ("expired", "grant_expired"),
        ("future", "grant_not_yet_valid"),
    ],
)
def test_unavailable_grants_have_distinct_codes(setup, code, django_capture_on_commit_callbacks):
    w = make_world()
    today = date(2026, 6, 1)
    with django_capture_on_commit_callbacks(execute=True):
        if setup == "other_number":
            make_approved(w, "ATL-9")
        elif setup == "requested":
            make_request(w)
        elif setup == "revoked":
            grant_revoke(actor=w.provider_rep, grant=make_approved(w, "ATL-1"))
        elif setup == "expired":
            make_approved(w, "ATL-1", valid_from=date(2025, 1, 1), valid_until=date(2026, 5, 31))
        elif setup == "future":
            make_approved(w, "ATL-1", valid_from=date(2026, 6, 2))
    with pytest.raises(GrantUnavailable) as info:
        active(w, today=today)
    assert info.value.code == code and info.value.status == 403


def test_another_institution_cannot_use_the_grant():
    w = make_world()
    make_approved(w, "ATL-1")
    other = make_institution(kind=Institution.Kind.RECIPIENT)
    with pytest.raises(GrantUnavailable):
        grant_active_for(
            institution_id=other.pk, dataset_id=w.dataset.pk, permission_number="ATL-1"
        )


def test_hot_path_does_not_query(django_assert_num_queries):
    w = make_world()
    make_approved(w, "ATL-1")
    active(w)  # loads the map once
    with django_assert_num_queries(0):
        for _ in range(50):
            active(w)


def test_unknown_numbers_reload_at_most_once_a_second(django_assert_num_queries, monkeypatch):
    w = make_world()
    make_approved(w, "ATL-1")
    active(w)
    with django_assert_num_queries(1):  # the first miss reloads (maybe approved elsewhere) …
        for _ in range(20):
            with pytest.raises(GrantUnavailable):
                active(w, "NOPE")  # … the others within MISS_RELOAD_S do not


def test_a_change_in_this_process_takes_effect_at_once(django_capture_on_commit_callbacks):
    w = make_world()
    with django_capture_on_commit_callbacks(execute=True):
        grant = make_approved(w, "ATL-1")
    assert active(w).id == grant.pk
    with django_capture_on_commit_callbacks(execute=True):
        grant_revoke(actor=w.provider_rep, grant=grant)
    with pytest.raises(GrantUnavailable) as info:
        active(w)
    assert info.value.code == "grant_revoked"


def test_a_change_in_another_process_takes_effect_within_the_refresh_interval(monkeypatch):
    w = make_world()
    grant = make_approved(w, "ATL-1")
    assert active(w).status == "approved"
    # Another process revokes: no invalidation reaches this one (we skip on_commit here).
    type(grant).objects.filter(pk=grant.pk).update(status="revoked")
    assert active(w).status == "approved"  # still cached …
    clock = [time.monotonic() + grant_cache_module.REFRESH_S + 0.1]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    with pytest.raises(GrantUnavailable) as info:  # … until the refresh interval has passed
        active(w)
    assert info.value.code == "grant_revoked"


def test_conditions_that_no_longer_fit_the_schema_fail_closed():
    w = make_world()
    grant = make_approved(w, "ATL-1")
    type(grant).objects.filter(pk=grant.pk).update(
        conditions=[{"field": "gone", "op": "eq", "value": 1}]
    )
    grant_cache.invalidate()
    with pytest.raises(GrantUnavailable) as info:
        active(w)
    assert info.value.code == "grant_invalid"


def test_visibility_of_grants():
    w = make_world()
    grant = make_request(w)
    signatory = make_user(institution=w.recipient, roles=(Membership.Role.SIGNATORY,))
    stranger = make_user(
        institution=make_institution(kind=Institution.Kind.BOTH),
        roles=(Membership.Role.PROVIDER, Membership.Role.RECIPIENT),
    )
    for actor in (w.recipient_rep, w.provider_rep, w.admin, signatory):
        assert grant_get_for(actor=actor, pk=grant.pk) == grant
    with pytest.raises(NotFound):
        grant_get_for(actor=stranger, pk=grant.pk)
    assert not grants_visible_to(stranger).exists()
    with pytest.raises(NotFound):
        grant_get_for(actor=w.admin, pk=grant.pk + 1000)


def test_validity_dates_are_checked_at_lookup_not_at_load():
    w = make_world()
    make_approved(w, "ATL-1", valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 30))
    assert active(w, today=date(2026, 6, 30))
    with pytest.raises(GrantUnavailable):
        active(w, today=date(2026, 6, 30) + timedelta(days=1))
