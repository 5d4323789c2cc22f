"""Newsletters: recipient groups, queueing in chunks, batches through real SMTP, per-recipient
status with temporary (451, retried with backoff) and permanent (550) refusals, unsubscribe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dagr.accounts.models import Institution, Membership, User
from dagr.audit.models import AdminEntry
from dagr.core.errors import Conflict, PermissionDenied
from dagr.notifications import composing, delivery, selectors, services
from dagr.notifications.models import Delivery, Newsletter, Preference
from tests.factories import make_admin, make_institution, make_user
from tests.grants.factories import make_approved, make_world

from .conftest import parts, run_worker_steps

pytestmark = pytest.mark.django_db


def data(**overrides):  # type: ignore[no-untyped-def]
    values = {
        "subject_lv": "Jaunumi",
        "html_lv": "<p>Labdien, {{ recipient_name }}!</p><p>Jaunā versija.</p>",
        "text_lv": "",
        "subject_en": "News",
        "html_en": "<p>Hello {{ recipient_name }},</p><p>A new release.</p>",
        "text_en": "",
        "group": Newsletter.Group.ALL,
        "group_value": "",
        "mandatory": False,
    }
    values.update(overrides)
    return values


def test_groups():
    w = make_world()
    make_approved(w)
    other = make_institution(kind=Institution.Kind.RECIPIENT)
    outsider = make_user(institution=other, roles=(Membership.Role.RECIPIENT,))
    make_user(status=User.Status.BLOCKED)

    def ids(group, value=""):  # type: ignore[no-untyped-def]
        return set(selectors.newsletter_recipients(group, value).values_list("pk", flat=True))

    everyone = {w.provider_rep.pk, w.recipient_rep.pk, w.admin.pk, outsider.pk}
    assert ids(Newsletter.Group.ALL) == everyone
    assert ids(Newsletter.Group.ROLE, "provider") == {w.provider_rep.pk}
    assert ids(Newsletter.Group.ROLE, "admin") == {w.admin.pk}
    assert ids(Newsletter.Group.INSTITUTION_KIND, "recipient") == {w.recipient_rep.pk, outsider.pk}
    assert ids(Newsletter.Group.DATASET_GRANTS, w.dataset.code) == {w.recipient_rep.pk}
    assert ids(Newsletter.Group.PROVIDERS_BY_STATUS, "production") == {w.provider_rep.pk}
    assert ids(Newsletter.Group.PROVIDERS_BY_STATUS, "sandbox") == set()


def test_send_in_chunks_with_status_retry_and_failure(smtp, settings):
    settings.NOTIFICATIONS_EMAIL_BATCH = 7
    admin = make_admin(email="admin@example.lv")
    for n in range(20):
        make_user(email=f"lietotajs{n}@example.lv", language="en" if n % 2 else "lv")
    temp = make_user(email="tempfail@example.lv")
    rejected = make_user(email="reject@example.lv")
    newsletter = services.newsletter_save(actor=admin, data=data())
    services.newsletter_queue(actor=admin, newsletter=newsletter)
    assert services.newsletters_expand(chunk=10) == 10  # chunk by chunk
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.QUEUED
    run_worker_steps()
    newsletter.refresh_from_db()
    progress = selectors.newsletter_progress(newsletter)
    assert progress["total"] == 23
    assert progress["sent"] == 21 and progress["failed"] == 1 and progress["retrying"] == 1
    assert newsletter.status == Newsletter.Status.SENDING
    failed = Delivery.objects.get(to=rejected.email)
    assert failed.status == Delivery.Status.FAILED and failed.last_answer.startswith("550")
    waiting = Delivery.objects.get(to=temp.email)
    assert waiting.status == Delivery.Status.QUEUED and waiting.last_answer.startswith("451")
    assert waiting.next_attempt_at > timezone.now() + timedelta(seconds=50)
    # the backoff has passed: the second attempt is accepted
    Delivery.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliveries_send()["sent"] == 1
    waiting.refresh_from_db()
    newsletter.refresh_from_db()
    assert waiting.status == Delivery.Status.SENT and waiting.attempts == 2
    assert newsletter.status == Newsletter.Status.SENT and newsletter.finished_at
    # each message: multipart/alternative in the recipient's language, with unsubscribe
    english = smtp.to("lietotajs1@example.lv")[0]
    assert str(english["Subject"]) == "News"
    body = parts(english)
    assert "Hello Jānis" in body["text/plain"] and "A new release." in body["text/html"]
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert english["List-Unsubscribe"].startswith(
        "<https://dagr.example.lv/notifications/unsubscribe/"
    )
    assert str(smtp.to("lietotajs0@example.lv")[0]["Subject"]) == "Jaunumi"
    assert (
        AdminEntry.objects.filter(action="notifications.newsletter.sent")
        .get()
        .changes["recipients"]
        == 23
    )
    with pytest.raises(Conflict):
        services.newsletter_queue(actor=admin, newsletter=newsletter)


def test_transient_failures_give_up_after_max_attempts(smtp, settings):
    settings.NOTIFICATIONS_EMAIL_MAX_ATTEMPTS = 2
    smtp.temp_failures = 99
    admin = make_admin()
    make_user(email="tempfail2@example.lv")
    newsletter = services.newsletter_save(
        actor=admin, data=data(group=Newsletter.Group.ROLE, group_value="admin")
    )
    Delivery.objects.create(
        to="tempfail2@example.lv",
        kind="newsletter",
        newsletter=newsletter,
        subject="s",
        html="<p>h</p>",
        text="t",
        next_attempt_at=timezone.now(),
    )
    delivery.deliveries_send()
    Delivery.objects.update(next_attempt_at=timezone.now())
    delivery.deliveries_send()
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.FAILED and row.attempts == 2
    assert row.last_answer.startswith("451")


def test_relay_down_is_retried_later(settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    Delivery.objects.create(
        to="x@example.lv", kind="newsletter", subject="s", html="h", text="t",
        next_attempt_at=timezone.now(),
    )  # fmt: skip
    assert delivery.deliveries_send() == {"sent": 0, "retry": 1, "failed": 0}
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.QUEUED and row.attempts == 1


def test_unsubscribe_link_and_one_click(smtp):
    admin = make_admin()
    reader = make_user(email="lasitajs@example.lv")
    first = services.newsletter_save(actor=admin, data=data())
    services.newsletter_queue(actor=admin, newsletter=first)
    run_worker_steps()
    mail = smtp.to(reader.email)[0]
    url = mail["List-Unsubscribe"].strip("<>")
    assert url in parts(mail)["text/plain"]
    path = url.removeprefix("https://dagr.example.lv")
    client = Client()  # no login
    page = client.get(path)
    assert page.status_code == 200 and "Atteikties" in page.content.decode()
    # RFC 8058 one-click: a POST without session or CSRF token
    answer = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert Preference.objects.get(user=reader, kind="newsletter").email is False
    assert client.get(path[:-5] + "xxxx/").status_code == 404  # a forged token
    # the next newsletter skips the reader, a mandatory one does not
    second = services.newsletter_save(actor=admin, data=data(subject_lv="Otrais"))
    services.newsletter_queue(actor=admin, newsletter=second)
    mandatory = services.newsletter_save(
        actor=admin, data=data(subject_lv="Obligāts", mandatory=True)
    )
    services.newsletter_queue(actor=admin, newsletter=mandatory)
    run_worker_steps()
    subjects = [str(m["Subject"]) for m in smtp.to(reader.email)]
    assert subjects == ["Jaunumi", "Obligāts"]
    assert smtp.to(reader.email)[1]["List-Unsubscribe"] is None


def test_notification_unsubscribe_token_cannot_turn_off_security_kinds():
    user = make_user()
    assert services.unsubscribe(user_id=user.pk, kind="role_granted") is False
    assert services.unsubscribe(user_id=user.pk, kind="access_requested") is True
    token = composing.unsubscribe_token(user.pk, "role_granted")
    assert Client().post(f"/notifications/unsubscribe/{token}/").status_code == 404


def test_newsletter_services_are_for_admins_only():
    with pytest.raises(PermissionDenied):
        services.newsletter_save(actor=make_user(), data=data())
