"""``dagr createadmin``."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from dagr.accounts.models import User
from dagr.audit.models import AdminEntry
from tests.conftest import TEST_PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_createadmin_creates_an_active_administrator():
    call_command("createadmin", email="Admin@Example.lv", password=TEST_PASSWORD)
    admin = User.objects.get(email="admin@example.lv")
    assert admin.is_portal_admin and admin.status == User.Status.ACTIVE
    assert admin.check_password(TEST_PASSWORD)
    assert admin.password.startswith("argon2$")
    assert AdminEntry.objects.filter(action="accounts.user.created", actor_label="system").exists()


def test_createadmin_refuses_a_weak_password():
    with pytest.raises(CommandError, match=r"weak|vāja"):
        call_command("createadmin", email="admin@example.lv", password="12345678")
    assert not User.objects.filter(email="admin@example.lv").exists()


def test_createadmin_without_password_and_no_terminal_fails_clearly(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="--password"):
        call_command("createadmin", email="admin@example.lv")


def test_createadmin_prompts_for_the_password(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": TEST_PASSWORD)
    call_command("createadmin", email="admin@example.lv")
    assert User.objects.get(email="admin@example.lv").check_password(TEST_PASSWORD)


def test_createadmin_promotes_an_existing_user():
    user = make_user(email="anna@example.lv", status=User.Status.PENDING)
    call_command("createadmin", email="anna@example.lv")
    user.refresh_from_db()
    assert user.is_portal_admin and user.status == User.Status.ACTIVE
