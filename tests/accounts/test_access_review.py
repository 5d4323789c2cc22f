"""Periodic access review: opened by the daily run, confirmed or removed by the signatory,
unconfirmed roles suspended after the grace period (no rights), restored; all audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dagr.accounts import reviews
from dagr.accounts.models import AccessReview, Membership
from dagr.accounts.tasks import accounts_daily
from dagr.audit.models import AdminEntry
from dagr.permissions import rules
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db
Role = Membership.Role


@pytest.fixture
def world():
    mine, other = make_institution(name="Mana iestāde"), make_institution(name="Cita iestāde")
    w = {
        "mine": mine,
        "signatory": make_user(institution=mine, roles=(Role.SIGNATORY,)),
        "keep": make_user(institution=mine, roles=(Role.RECIPIENT,), last_name="Paliek"),
        "forget": make_user(institution=mine, roles=(Role.PROVIDER,), last_name="Aizmirsts"),
        "other_signatory": make_user(institution=other, roles=(Role.SIGNATORY,)),
    }
    # the roles are older than a review period
    Membership.objects.update(created_at=timezone.now() - timedelta(days=400))
    return w


def membership(user) -> Membership:
    return Membership.objects.get(user=user)


def test_review_cycle(client, world, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = accounts_daily()
    assert result["reviews_opened"] == 2  # both institutions
    review = AccessReview.objects.get(institution=world["mine"])
    assert (review.due_at - review.opened_at).days == 30
    assert AdminEntry.objects.filter(action="accounts.access_review.requested").count() == 2
    to = {m["To"] for m in smtp_server.messages}
    assert world["signatory"].email in to and world["other_signatory"].email in to
    assert accounts_daily()["reviews_opened"] == 0  # idempotent

    client.force_login(world["signatory"])
    dashboard = client.get(reverse("portal:dashboard")).content.decode()
    assert reverse("accounts:access_review", args=[world["mine"].pk]) in dashboard
    page = client.get(reverse("accounts:access_review", args=[world["mine"].pk]))
    assert page.status_code == 200 and "Aizmirsts" in page.content.decode()
    for user in (world["signatory"], world["keep"]):
        url = reverse("accounts:access_review_confirm", args=[membership(user).pk])
        assert client.post(url).status_code == 302
    assert AdminEntry.objects.filter(action="accounts.membership.confirmed").count() == 2

    # the grace period passes: the unconfirmed role is suspended and gives no rights
    assert rules.has_role(world["forget"], world["mine"], Role.PROVIDER)
    later = timezone.now() + timedelta(days=31)
    assert reviews.reviews_suspend_overdue(now=later) == 2  # + the other institution's signatory
    forgotten = membership(world["forget"])
    assert forgotten.status == Membership.Status.SUSPENDED
    assert membership(world["keep"]).status == Membership.Status.ACTIVE
    fresh = type(world["forget"]).objects.get(pk=world["forget"].pk)
    assert not rules.has_role(fresh, world["mine"], Role.PROVIDER)
    assert not rules.can_define_datasets(fresh)
    assert reviews.reviews_suspend_overdue(now=later) == 0  # idempotent
    assert AdminEntry.objects.filter(action="accounts.membership.suspended").count() == 2

    # the signatory restores it
    url = reverse("accounts:access_review_restore", args=[forgotten.pk])
    assert client.post(url).status_code == 302
    fresh = type(world["forget"]).objects.get(pk=world["forget"].pk)
    assert rules.has_role(fresh, world["mine"], Role.PROVIDER)
    assert AdminEntry.objects.filter(action="accounts.membership.restored").count() == 1


def test_review_completes_when_every_role_is_confirmed_or_removed(client, world):
    reviews.reviews_open_due()
    client.force_login(world["signatory"])
    for user in (world["signatory"], world["keep"]):
        client.post(reverse("accounts:access_review_confirm", args=[membership(user).pk]))
    remove = reverse("accounts:access_review_remove", args=[membership(world["forget"]).pk])
    assert client.post(remove).status_code == 200  # confirmation page first
    assert client.post(remove, {"confirm": "yes"}).status_code == 302
    assert not Membership.objects.filter(user=world["forget"]).exists()
    assert AccessReview.objects.get(institution=world["mine"]).closed_at is not None
    assert AdminEntry.objects.filter(action="accounts.access_review.completed").exists()


def test_new_institutions_wait_a_full_period(world):
    young = make_institution()
    make_user(institution=young, roles=(Role.SIGNATORY,))
    reviews.reviews_open_due()
    assert not AccessReview.objects.filter(institution=young).exists()


def test_others_cannot_review(client, world):
    reviews.reviews_open_due()
    page = reverse("accounts:access_review", args=[world["mine"].pk])
    confirm = reverse("accounts:access_review_confirm", args=[membership(world["keep"]).pk])
    assert client.get(page).status_code == 302  # anonymous → login
    client.force_login(world["other_signatory"])
    assert client.get(page).status_code == 404
    assert client.post(confirm).status_code == 404
    client.force_login(world["keep"])
    assert client.get(reverse("accounts:access_reviews")).status_code == 403
    assert client.get(page).status_code == 404
    client.force_login(make_admin())
    assert client.get(page).status_code == 200
