"""Which grants a record set can be defined over (``grants.selectors.grants_usable_by`` with
``not_yet_valid``): approved ones that have not expired — also those whose validity starts
later — of the institutions the actor manages record sets for; never an expired or a revoked
one, nor another institution's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dagr.core.errors import NotFound
from dagr.monitoring import selectors
from tests.retrieval.factories import make_world, set_grant

from .record_set_helpers import make_set

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("state", "offered"),
    [("valid", True), ("not yet valid", True), ("expired", False), ("revoked", False)],
)
def test_grants_a_record_set_can_use(state, offered):
    w = make_world()
    today = timezone.localdate()
    if state == "not yet valid":
        set_grant(w.grant, valid_from=today + timedelta(days=3))
    elif state == "expired":
        set_grant(w.grant, valid_from=today - timedelta(days=30), valid_until=today - timedelta(1))
    elif state == "revoked":
        set_grant(w.grant, status="revoked")
    listed = [g.pk for g in selectors.grants_for_record_sets(actor=w.recipient_rep)]
    assert listed == ([w.grant.pk] if offered else [])
    if offered:
        assert make_set(w).grant_id == w.grant.pk
    else:
        with pytest.raises(NotFound):
            make_set(w)


def test_another_institution_sees_none_of_them():
    w, other = make_world(), make_world()
    assert [g.pk for g in selectors.grants_for_record_sets(actor=other.recipient_rep)] == [
        other.grant.pk
    ]
    with pytest.raises(NotFound):
        make_set(w, actor=other.recipient_rep, institution_id=other.recipient.pk)
