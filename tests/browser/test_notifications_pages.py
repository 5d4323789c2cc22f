"""Notifications in a real browser, with axe-core and the strict CSP: the inbox with the unread
count in the header, the template editor's live preview (the static script re-submits the form
into the sandboxed preview frame), and a newsletter sent with its progress on the page."""

from __future__ import annotations

import re

import pytest

from dagr.accounts.models import Membership
from dagr.core.actors import SYSTEM
from dagr.notifications import delivery, dispatch, services
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.factories import make_admin, make_institution, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()


def test_inbox_and_header_count(page):
    from dagr.accounts.services import membership_grant

    institution = make_institution()
    user = make_user(email="anna@example.lv")
    for role in (Membership.Role.PROVIDER, Membership.Role.RECIPIENT):
        membership_grant(actor=SYSTEM, user=user, institution=institution, role=role)
    dispatch.dispatch_all()
    log_in(page, "anna@example.lv")
    link = page.get_by_role("link", name=re.compile(r"^Paziņojumi\s*, 2 nelasīti$"))
    assert link.count() == 1
    link.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Paziņojumi", exact=True).count() == 1
    assert_accessible(page)
    page.get_by_role(
        "button", name=re.compile(r"^Atzīmēt kā izlasītu\s*: Jums piešķirta loma: datu devēja")
    ).click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name=re.compile(r"^Paziņojumi\s*, 1 nelasīts$")).count() == 1
    page.get_by_role("button", name="Atzīmēt visus kā izlasītus").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Paziņojumi", exact=True).count() == 1
    page.get_by_role("link", name="Izvēlēties, kurus paziņojumus saņemt arī e-pastā").click()
    page.wait_for_load_state()
    assert_accessible(page)


def test_template_editor_live_preview(page):
    make_admin(email="admin@example.lv")
    log_in(page, "admin@example.lv")
    page.goto("/notifications/templates/")
    assert_accessible(page)
    page.goto("/notifications/templates/request_approved/lv/")
    frame = page.frame_locator("#preview-frame")
    # the script previews at once, with the sample data
    frame.get_by_text("Iedzīvotāju reģistrs").first.wait_for()
    assert_accessible(page)
    page.get_by_label("Temats").fill("Labas ziņas par {{ dataset_code }}")
    frame.get_by_text("Temats: Labas ziņas par iedz-registrs").wait_for()
    page.get_by_label("HTML teksts").fill("<p>Sveiki, {{ recipient_name }}!</p>")
    frame.get_by_text("Sveiki, Anna Bērziņa!").first.wait_for()
    page.get_by_label("HTML teksts").fill("<p>{{ parole }}</p>")
    frame.get_by_text("nezināmi mainīgie: parole").wait_for()
    page.get_by_label("HTML teksts").fill("<p>Sveiki, {{ recipient_name }}!</p>")
    page.get_by_role("button", name="Saglabāt kā jaunu versiju").click()
    page.wait_for_load_state()
    assert page.get_by_text("1. versija saglabāta.").count() == 1
    assert_accessible(page)
    page.get_by_label("Temats").fill("Vēl labākas ziņas par {{ dataset_code }}")
    page.get_by_role("button", name="Saglabāt kā jaunu versiju").click()
    page.wait_for_load_state()
    page.get_by_role("link", name=re.compile(r"^Izmaiņas\s*v2$")).click()
    page.wait_for_load_state()
    assert page.get_by_text("Izmaiņas no 1. līdz 2. versijai.").count() == 1
    assert_accessible(page)
    page.go_back()
    page.get_by_role("button", name=re.compile(r"^Atjaunot\s*v1$")).click()
    page.wait_for_load_state()
    assert page.get_by_text("1. versija atjaunota kā 3. versija.").count() == 1


def test_newsletter_send_with_progress(page, smtp_server, settings):
    settings.NOTIFICATIONS_EMAIL_RATE = 0
    make_admin(email="admin@example.lv")
    for n in range(3):
        make_user(email=f"lasitajs{n}@example.lv")
    log_in(page, "admin@example.lv")
    page.goto("/notifications/newsletters/")
    assert_accessible(page)
    page.get_by_role("link", name="Rakstīt jaunumu vēstuli").first.click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_label("Saņēmēji").select_option("all:")
    page.get_by_label("Temats (latviski)").fill("Decembra jaunumi")
    page.get_by_label("HTML teksts (latviski)").fill("<p>Labdien, {{ recipient_name }}!</p>")
    page.get_by_label("Temats (angliski)").fill("December news")
    page.get_by_label("HTML teksts (angliski)").fill("<p>Hello {{ recipient_name }}</p>")
    page.get_by_role("button", name="Saglabāt un apskatīt saņēmējus").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="4 saņēmēji").count() == 1
    assert_accessible(page)
    page.get_by_role("button", name="Sūtīt 4 saņēmējiem").click()
    page.wait_for_load_state()
    assert page.get_by_text("no 0: nosūtīti 0").count() == 1
    # the worker's steps; the page's script picks up the progress without a reload
    services.newsletters_expand()
    delivery.deliveries_send()
    page.get_by_text("no 4: nosūtīti 4, neizdevās 0, gaida 0").wait_for()
    assert_accessible(page)
    assert len(smtp_server.messages) == 4
