"""Leaving: blocking ends every session of the user at once; users who do not log in get a
notice and are then deactivated by the daily run (idempotent, audited, mailed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dagr.accounts import lifecycle, services
from dagr.accounts.models import Membership, User
from dagr.audit.models import AdminEntry
from tests.conftest import TEST_PASSWORD
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db
Role = Membership.Role


def sessions_of(user) -> list[Session]:
    return [
        s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)
    ]


def test_blocking_ends_all_sessions_at_once(django_capture_on_commit_callbacks):
    institution = make_institution()
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    member = make_user(institution=institution, roles=(Role.RECIPIENT,))
    browsers = [Client(), Client()]
    for browser in browsers:
        assert (
            browser.post(
                reverse("accounts:login"), {"username": member.email, "password": TEST_PASSWORD}
            ).status_code
            == 302
        )
    bystander = Client()
    bystander.force_login(signatory)
    assert len(sessions_of(member)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.user_set_status(actor=signatory, user=member, status=User.Status.BLOCKED)
    assert sessions_of(member) == []
    assert len(sessions_of(signatory)) == 1  # only the blocked user's sessions
    for browser in browsers:
        assert browser.get(reverse("accounts:profile")).status_code == 302
    again = Client().post(
        reverse("accounts:login"), {"username": member.email, "password": TEST_PASSWORD}
    )
    assert again.status_code == 200 and "_auth_user_id" not in again.client.session


def test_inactivity_notice_then_deactivation(smtp_server, django_capture_on_commit_callbacks):
    now = timezone.now()
    make_admin(last_login=now)  # another active administrator
    quiet = make_user(last_login=now - timedelta(days=170))
    gone = make_user(last_login=now - timedelta(days=181))
    fresh = make_user(last_login=now - timedelta(days=10))
    never = make_user()
    User.objects.filter(pk=never.pk).update(created_at=now - timedelta(days=200))
    with django_capture_on_commit_callbacks(execute=True):
        result = lifecycle.inactive_users_process(now=now)
    assert result == {"notified": 1, "deactivated": 2}
    statuses = dict(User.objects.values_list("pk", "status"))
    assert statuses[quiet.pk] == statuses[fresh.pk] == User.Status.ACTIVE
    assert statuses[gone.pk] == statuses[never.pk] == User.Status.BLOCKED
    notice = AdminEntry.objects.get(action="accounts.user.inactivity_notice")
    assert notice.target_id == str(quiet.pk)
    assert AdminEntry.objects.filter(action="accounts.user.deactivated_inactive").count() == 2
    by_to = {m["To"]: m.get_payload(decode=True).decode() for m in smtp_server.messages}
    assert "deaktivizēts" in by_to[quiet.email] and "deaktivizēts" in by_to[gone.email]
    # idempotent: the next day's run sends no second notice
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.inactive_users_process(now=now + timedelta(days=1)) == {
            "notified": 0,
            "deactivated": 0,
        }
    # a login clears the notice
    assert (
        Client()
        .post(reverse("accounts:login"), {"username": quiet.email, "password": TEST_PASSWORD})
        .status_code
        == 302
    )
    quiet.refresh_from_db()
    assert quiet.inactivity_notice_at is None and quiet.last_login > now


def test_the_last_administrator_is_never_deactivated():
    admin = make_admin(last_login=timezone.now() - timedelta(days=400))
    assert lifecycle.inactive_users_process()["deactivated"] == 0
    admin.refresh_from_db()
    assert admin.status == User.Status.ACTIVE
