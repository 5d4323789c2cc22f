"""Portal pages of notifications: who may open what (login, 403 for non-administrators, 404 for
someone else's notification), the inbox and header count, preferences, the editor's preview,
test send, diff and restore, newsletter pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dagr.notifications import services
from dagr.notifications.composing import Source
from dagr.notifications.models import Delivery, Newsletter, Notification, Preference
from tests.factories import make_admin, make_user

from .conftest import parts, run_worker_steps

pytestmark = pytest.mark.django_db

SOURCE = {"subject": "Sveiki {{ dataset_title }}", "html": "<p>{{ recipient_name }}</p>"}


@pytest.fixture
def people():  # type: ignore[no-untyped-def]
    return {"admin": make_admin(), "user": make_user(), "other": make_user()}


def admin_urls(newsletter: Newsletter) -> list[tuple[str, str]]:
    kind = ("request_approved", "lv")
    return [
        ("get", reverse("notifications:templates")),
        ("get", reverse("notifications:template_edit", args=kind)),
        ("post", reverse("notifications:template_preview", args=kind)),
        ("post", reverse("notifications:template_restore", args=(*kind, 1))),
        ("get", reverse("notifications:template_diff", args=(*kind, 1))),
        ("get", reverse("notifications:newsletters")),
        ("get", reverse("notifications:newsletter_create")),
        ("get", reverse("notifications:newsletter", args=[newsletter.pk])),
        ("get", reverse("notifications:newsletter_progress", args=[newsletter.pk])),
    ]


def a_newsletter(admin) -> Newsletter:  # type: ignore[no-untyped-def]
    return services.newsletter_save(
        actor=admin,
        data={
            "subject_lv": "Jaunumi", "html_lv": "<p>Sveiki</p>", "text_lv": "",
            "subject_en": "News", "html_en": "<p>Hello</p>", "text_en": "",
            "group": "all", "group_value": "", "mandatory": False,
        },
    )  # fmt: skip


def test_admin_pages_refuse_anonymous_and_non_admins(client, people):
    newsletter = a_newsletter(people["admin"])
    for method, url in admin_urls(newsletter):
        client.logout()
        answer = getattr(client, method)(url)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"], url
        client.force_login(people["user"])
        assert getattr(client, method)(url).status_code == 403, url


def test_inbox_own_only_mark_read_and_header_count(client, people):
    mine = Notification.objects.create(user=people["user"], kind="role_granted", subject="Mans")
    Notification.objects.create(user=people["user"], kind="role_granted", subject="Otrs")
    theirs = Notification.objects.create(user=people["other"], kind="role_granted", subject="Svešs")
    assert client.get(reverse("notifications:inbox")).status_code == 302
    client.force_login(people["user"])
    body = client.get(reverse("notifications:inbox")).content.decode()
    assert "Mans" in body and "Svešs" not in body
    assert ", 2 nelasīti" in body  # the header's accessible name of the unread count
    answer = client.post(reverse("notifications:mark_read", args=[theirs.pk]))
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    client.post(reverse("notifications:mark_read", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert ", 1 nelasīts" in client.get(reverse("portal:home")).content.decode()
    client.post(reverse("notifications:mark_all_read"))
    assert not Notification.objects.filter(user=people["user"], read_at=None).exists()
    assert Notification.objects.filter(user=people["other"], read_at=None).count() == 1


def test_preferences(client, people):
    client.force_login(people["user"])
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'value="role_granted" checked disabled' in page
    client.post(reverse("notifications:preferences"), {"email": ["grant_expiring"]})
    off = set(
        Preference.objects.filter(user=people["user"], email=False).values_list("kind", flat=True)
    )
    assert "access_requested" in off and "grant_expiring" not in off
    assert "role_granted" not in off


def test_editor_preview_save_diff_restore_and_test_send(client, people, smtp):
    admin = people["admin"]
    client.force_login(admin)
    url = reverse("notifications:template_edit", args=("request_approved", "lv"))
    page = client.get(url)
    assert page.status_code == 200 and "Piekļuve apstiprināta" in page.content.decode()
    preview = client.post(
        reverse("notifications:template_preview", args=("request_approved", "lv")), SOURCE
    )
    assert preview.status_code == 200
    assert "Sveiki Iedzīvotāju reģistrs" in preview.content.decode()
    assert "script-src" not in preview["Content-Security-Policy"]
    assert "sandbox" in preview["Content-Security-Policy"]
    bad = client.post(
        reverse("notifications:template_preview", args=("request_approved", "lv")),
        {"subject": "x", "html": "{{ ''.__class__ }}"},
    )
    assert bad.status_code == 422
    refused = client.post(url, {**SOURCE, "html": "{{ parole }}", "action": "save"})
    assert refused.status_code == 200 and "parole" in refused.content.decode()
    client.post(url, {**SOURCE, "action": "save"})
    client.post(url, {**SOURCE, "subject": "Otrā {{ dataset_code }}", "action": "save"})
    diff = client.get(reverse("notifications:template_diff", args=("request_approved", "lv", 2)))
    assert "Otrā" in diff.content.decode() and "diff" in diff.content.decode()
    client.post(reverse("notifications:template_restore", args=("request_approved", "lv", 1)))
    assert services.selectors.template_versions("request_approved", "lv").first().version == 3
    client.post(url, {**SOURCE, "action": "test"})
    run_worker_steps()
    mail = smtp.to(admin.email)[0]
    assert str(mail["Subject"]) == "[TEST] Sveiki Iedzīvotāju reģistrs"
    assert "text/html" in parts(mail)


def test_unknown_kind_or_language_is_404(client, people):
    client.force_login(people["admin"])
    assert client.get("/notifications/templates/nope/lv/").status_code == 404
    assert client.get("/notifications/templates/request_approved/de/").status_code == 404


def test_newsletter_write_preview_list_and_send(client, people):
    client.force_login(people["admin"])
    answer = client.post(
        reverse("notifications:newsletter_create"),
        {
            "recipients": "all:", "subject_lv": "Jaunumi", "html_lv": "<p>{{ recipient_name }}</p>",
            "subject_en": "News", "html_en": "<p>{{ recipient_name }}</p>",
        },
    )  # fmt: skip
    newsletter = Newsletter.objects.get()
    assert answer.status_code == 302
    page = client.get(reverse("notifications:newsletter", args=[newsletter.pk])).content.decode()
    assert "3 saņēmēji" in page and people["other"].email in page
    client.post(reverse("notifications:newsletter", args=[newsletter.pk]), {"action": "send"})
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.QUEUED
    assert not Delivery.objects.exists()  # the web request only queues: the worker sends
    progress = client.get(reverse("notifications:newsletter_progress", args=[newsletter.pk]))
    assert "no 0" in progress.content.decode()


def test_template_services_with_source():
    admin = make_admin()
    template = services.template_save(
        actor=admin,
        kind="role_granted",
        language="en",
        source=Source("Role {{ role }}", "<p>{{ role }}</p>", ""),
    )
    assert template.version == 1


def test_newsletter_preview_and_test_send(client, people, smtp):
    client.force_login(people["admin"])
    form = {
        "recipients": "all:", "subject_lv": "Jaunumi",
        "html_lv": "<p>Sveiki, {{ recipient_name }}</p>",
        "subject_en": "News", "html_en": "<p>Hello {{ recipient_name }}</p>",
    }  # fmt: skip
    preview = client.post(reverse("notifications:newsletter_preview"), form)
    body = preview.content.decode()
    assert preview.status_code == 200 and "Sveiki, Jānis" in body and "Hello Jānis" in body
    assert "Atteikties no jaunumu vēstulēm" in body  # not mandatory: the unsubscribe link
    bad = client.post(reverse("notifications:newsletter_preview"), {**form, "html_en": "{{ x }}"})
    assert bad.status_code == 422
    client.post(reverse("notifications:newsletter_create"), {**form, "action": "test"})
    assert not Newsletter.objects.exists()
    run_worker_steps()
    assert str(smtp.to(people["admin"].email)[0]["Subject"]) == "[TEST] Jaunumi"
    client.force_login(people["user"])
    assert client.post(reverse("notifications:newsletter_preview"), form).status_code == 403
