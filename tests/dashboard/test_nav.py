"""The way to the statistics: a link in the main navigation and on the role dashboard, shown
only to those ``rules.can_view_statistics`` lets in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import World

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="main-nav".*?</nav>', re.S)
LINK = 'href="/statistics/"'


def page(user: Any, url: str) -> str:
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return str(response.content.decode())


def nav(user: Any) -> str:
    found = NAV.search(page(user, reverse("portal:home")))
    assert found is not None
    return found.group(0)


@pytest.mark.parametrize("who", ["admin", "provider_user", "recipient_user"])
def test_those_who_may_see_statistics_have_the_links(world: World, who: str) -> None:
    user = getattr(world, who)
    assert LINK in nav(user)
    assert Client().get("/statistics/").status_code == 302  # the link's target exists (sanity)
    assert LINK in page(user, reverse("portal:dashboard"))


@pytest.mark.parametrize("who", ["outsider", None])
def test_others_do_not(world: World, who: str | None) -> None:
    user = getattr(world, who) if who else None
    assert LINK not in nav(user)
    if user is not None:
        assert LINK not in page(user, reverse("portal:dashboard"))


def test_the_link_is_in_latvian_and_english(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    lv = client.get(reverse("portal:home"), headers={"accept-language": "lv"}).content.decode()
    en = client.get(reverse("portal:home"), headers={"accept-language": "en"}).content.decode()
    assert '<a href="/statistics/">Statistika</a>' in lv
    assert '<a href="/statistics/">Statistics</a>' in en
