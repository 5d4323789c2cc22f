"""Statuses and disabled buttons look like what they are (computed styles in a real browser)."""

from __future__ import annotations

import pytest

from dagr.grants.services import grant_reject, grant_revoke
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.grants.factories import make_approved, make_request, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREY = "rgb(228, 230, 234)"


def test_statuses_have_distinct_accessible_colours(page):
    w = make_world()
    make_request(w)
    make_approved(w, number="ATL-2")
    grant_reject(actor=w.provider_rep, grant=make_request(w), note="nav pamata")
    grant_revoke(actor=w.recipient_rep, grant=make_approved(w, number="ATL-3"))
    page.goto("/accounts/login/")
    page.fill("input[name=username]", w.recipient_rep.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto("/grants/")
    colours = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.badge')].map(
             b => [b.className, getComputedStyle(b).backgroundColor]))"""
    )
    statuses = {name.split("badge-")[-1]: colour for name, colour in colours.items()}
    assert set(statuses) >= {"requested", "approved", "rejected", "revoked"}, statuses
    assert GREY not in statuses.values(), statuses
    assert statuses["requested"] != statuses["approved"] != statuses["revoked"]
    assert_accessible(page)  # axe: colour contrast of every label ≥ 4.5:1


def test_a_disabled_button_does_not_look_active(page):
    page.goto("/")
    styles = page.evaluate(
        """() => {
          const make = (disabled) => {
            const b = document.createElement('button');
            b.className = 'button'; b.textContent = 'x'; b.disabled = disabled;
            document.querySelector('main').append(b);
            const s = getComputedStyle(b);
            return [s.backgroundColor, s.cursor, s.color];
          };
          return [make(false), make(true)];
        }"""
    )
    active, disabled = styles
    assert disabled[0] != active[0] and disabled[2] != active[2]
    assert disabled[1] == "not-allowed"
