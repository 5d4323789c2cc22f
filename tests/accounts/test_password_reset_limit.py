"""Password-reset e-mails are rate limited per address and per client address, and the answer
never tells whether the address exists or was limited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dagr.core.models import RateLimitCounter
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def reset(client, email: str, ip: str = "192.0.2.10"):
    return client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_three_mails_per_address_per_hour_then_the_same_answer_and_no_mail(client, smtp_server):
    make_user(email="anna@example.lv")
    answers = [reset(client, "anna@example.lv", ip=f"192.0.2.{n}") for n in range(1, 6)]
    assert len(smtp_server.messages) == 3
    # Limited or not, existing or not: the same redirect to the same page.
    unknown = reset(client, "nav-tada@example.lv")
    assert {(a.status_code, a.url) for a in [*answers, unknown]} == {
        (302, reverse("accounts:password_reset_done"))
    }
    # Another address is not limited by anna's count.
    make_user(email="janis@example.lv")
    reset(client, "JANIS@example.lv")
    assert len(smtp_server.messages) == 4
    # No address is stored in clear.
    assert not RateLimitCounter.objects.filter(key__contains="@").exists()


def test_one_client_address_cannot_mail_many_accounts(client, smtp_server, settings):
    settings.PASSWORD_RESET_MAILS_PER_IP = 4
    for n in range(6):
        make_user(email=f"user{n}@example.lv")
        reset(client, f"user{n}@example.lv", ip="198.51.100.7")
    assert len(smtp_server.messages) == 4
    reset(client, "user5@example.lv", ip="198.51.100.8")  # another client
    assert len(smtp_server.messages) == 5
