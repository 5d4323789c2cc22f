"""Reading the administrative audit trail: filters by action, object, actor and period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dagr.audit.models import AdminEntry
from dagr.audit.selectors import admin_entry_actions, admin_entry_list
from dagr.audit.services import admin_entry_create, diff_fields
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries():
    anna = make_user(first_name="Anna", last_name="Liepa")
    karlis = make_user(first_name="Kārlis", last_name="Ozols")
    a = admin_entry_create(
        action="accounts.user.updated", actor=anna, target=karlis, changes={"x": [1, 2]}
    )
    b = admin_entry_create(action="accounts.user.blocked", actor=karlis, target=anna)
    c = admin_entry_create(
        action="catalog.dataset.created",
        actor=None,
        target_type="catalog.dataset",
        target_id="42",
        target_label="Iedzīvotāju reģistrs",
    )
    AdminEntry.objects.filter(pk=c.pk).update(at=timezone.now() - timedelta(days=10))
    return {"anna": anna, "karlis": karlis, "a": a, "b": b, "c": c}


def ids(qs):
    return {e.pk for e in qs}


def test_filter_by_action_exact_and_prefix(entries):
    assert ids(admin_entry_list(action="accounts.user.blocked")) == {entries["b"].pk}
    assert ids(admin_entry_list(action="accounts.user")) == {entries["a"].pk, entries["b"].pk}
    assert ids(admin_entry_list(action="accounts")) == {entries["a"].pk, entries["b"].pk}
    assert ids(admin_entry_list(action="accounts.us")) == set()  # prefixes are whole segments


def test_filter_by_actor_and_object(entries):
    assert ids(admin_entry_list(actor="liepa")) == {entries["a"].pk}
    assert ids(admin_entry_list(actor=str(entries["karlis"].pk))) == {entries["b"].pk}
    assert ids(admin_entry_list(actor="system")) == {entries["c"].pk}
    assert ids(admin_entry_list(target="reģistrs")) == {entries["c"].pk}
    assert ids(admin_entry_list(target="42")) == {entries["c"].pk}
    assert ids(
        admin_entry_list(target_type="accounts.user", target_id=str(entries["anna"].pk))
    ) == {entries["b"].pk}


def test_filter_by_period_is_inclusive_of_the_last_day(entries):
    today = timezone.localdate()
    assert ids(admin_entry_list(date_from=today, date_to=today)) == {
        entries["a"].pk,
        entries["b"].pk,
    }
    old_day = timezone.localdate(entries["c"].at - timedelta(days=10))
    assert ids(admin_entry_list(date_to=old_day)) == {entries["c"].pk}


def test_newest_first_and_actions_listed(entries):
    assert [e.pk for e in admin_entry_list()][:2] == [entries["b"].pk, entries["a"].pk]
    assert admin_entry_actions() == [
        "accounts.user.blocked",
        "accounts.user.updated",
        "catalog.dataset.created",
    ]


def test_diff_fields_masks_secrets():
    assert diff_fields({"a": 1, "p": "x"}, {"a": 2, "p": "y"}, secret_fields=frozenset({"p"})) == {
        "a": [1, 2],
        "p": ["***", "***"],
    }
