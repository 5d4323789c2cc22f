"""Every notification kind, triggered by its real action path (the service that writes the audit
entry), dispatched from the audit log, into the inbox and through real SMTP on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dagr.accounts import applications
from dagr.accounts import services as account_services
from dagr.accounts.models import Institution, Membership
from dagr.audit.models import AdminEntry
from dagr.audit.services import admin_entry_create
from dagr.core.actors import SYSTEM
from dagr.grants.services import grant_reject
from dagr.notifications import checks, dispatch, registry
from dagr.notifications.models import Delivery, DispatchCursor, Notification, Preference
from tests.conftest import TEST_PASSWORD
from tests.factories import make_admin, make_institution, make_user
from tests.grants.factories import make_approved, make_request, make_world

from .conftest import parts, run_worker_steps

pytestmark = pytest.mark.django_db


def subject(message) -> str:  # type: ignore[no-untyped-def]
    return str(message["Subject"])


def kinds_of(user) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))


def submit(institution: Institution, **overrides):  # type: ignore[no-untyped-def]
    fields = {
        "email": "pieteicejs@example.lv",
        "first_name": "Pēteris",
        "last_name": "Kalniņš",
        "phone": "29 123 456",
        "position": "Analītiķis",
        "password": TEST_PASSWORD,
        "institution": institution,
        "roles": [Membership.Role.RECIPIENT],
        "message": "",
    }
    fields.update(overrides)
    return applications.application_submit(**fields)


def test_registry_actions_are_real_and_listed():
    from dagr.audit.actions import ACTION_LABELS

    # every kind keys on a labelled action (the release one belongs to the anonymisation app,
    # built in parallel, which registers its label)
    missing = registry.actions() - set(ACTION_LABELS) - {"anonymisation.release.published"}
    assert missing == set()
    assert len(registry.BY_KEY) == len(registry.KINDS)


def test_application_received_acknowledged_approved(smtp):
    institution = make_institution(kind=Institution.Kind.RECIPIENT)
    signatory = make_user(institution=institution, roles=(Membership.Role.SIGNATORY,))
    admin = make_admin(language="en")
    application = submit(institution)
    applicant = application.user
    run_worker_steps()
    assert kinds_of(signatory) == ["application_received"]
    assert kinds_of(admin) == ["application_received"]
    assert kinds_of(applicant) == ["application_acknowledged"]
    mail = smtp.to(signatory.email)[0]
    assert subject(mail).startswith("Jauns konta pieteikums: Pēteris Kalniņš")
    body = parts(mail)
    assert "text/plain" in body and "text/html" in body
    link = f"https://dagr.example.lv/accounts/applications/{application.pk}/"
    assert link in body["text/html"] and link in body["text/plain"]
    assert mail["Content-Language"] == "lv"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert 'lang="lv"' in body["text/html"]
    # the administrator prefers English
    english = smtp.to(admin.email)[0]
    assert subject(english).startswith("New account application")
    assert english["Content-Language"] == "en"
    # not a security kind: it carries the one-click unsubscribe headers
    assert english["List-Unsubscribe"].startswith("<https://dagr.example.lv/notifications/")
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    applications.application_approve(actor=signatory, application=application)
    run_worker_steps()
    assert "application_approved" in kinds_of(applicant)
    assert "role_granted" in kinds_of(applicant)
    approved = next(m for m in smtp.to(applicant.email) if "apstiprināts" in subject(m))
    text = parts(approved)["text/plain"]
    assert "https://dagr.example.lv/accounts/login/" in text
    assert approved["List-Unsubscribe"] is None  # security-relevant: cannot be turned off


def test_application_rejected(smtp):
    institution = make_institution()
    application = submit(institution)
    applications.application_reject(actor=SYSTEM, application=application, note="Nav pamata")
    run_worker_steps()
    assert "application_rejected" in kinds_of(application.user)
    mail = next(m for m in smtp.to(application.user.email) if "noraidīts" in subject(m))
    assert "Pamatojums: Nav pamata" in parts(mail)["text/plain"]


def test_role_granted_and_revoked(smtp):
    institution = make_institution()
    user = make_user(institution=institution)
    account_services.membership_grant(
        actor=SYSTEM, user=user, institution=institution, role=Membership.Role.PROVIDER
    )
    account_services.membership_revoke(
        actor=SYSTEM, user=user, institution=institution, role=Membership.Role.PROVIDER
    )
    run_worker_steps()
    assert kinds_of(user) == ["role_granted", "role_revoked"]
    subjects = sorted(subject(m) for m in smtp.to(user.email))
    assert subjects == [
        "Jums piešķirta loma: datu devēja pārstāvis",
        "Jūsu loma atsaukta: datu devēja pārstāvis",
    ]


def test_access_request_and_decisions(smtp):
    w = make_world()
    grant = make_request(w)
    run_worker_steps()
    assert kinds_of(w.provider_rep) == ["access_requested"]
    assert kinds_of(w.recipient_rep) == []
    mail = smtp.to(w.provider_rep.email)[0]
    assert f"https://dagr.example.lv/grants/{grant.pk}/" in parts(mail)["text/html"]

    make_approved(w, number="ATL-2")  # full approval of a second request
    narrowed = make_request(w)
    from dagr.grants.services import grant_approve

    grant_approve(
        actor=w.provider_rep, grant=narrowed, permission_number="ATL-3", fields=["personal_code"]
    )
    grant_reject(actor=w.provider_rep, grant=grant, note="Nav tiesiska pamata")
    run_worker_steps()
    assert kinds_of(w.recipient_rep) == ["request_approved", "request_narrowed", "request_rejected"]
    rejected = next(m for m in smtp.to(w.recipient_rep.email) if "noraidīts" in subject(m))
    assert "Nav tiesiska pamata" in parts(rejected)["text/plain"]


def test_grant_expiring_once_per_threshold(smtp):
    w = make_world()
    grant = make_approved(w, valid_until=timezone.localdate() + timedelta(days=25))
    assert checks.grants_expiring() == 1
    assert checks.grants_expiring() == 0  # idempotent: one audit entry per event
    run_worker_steps()
    assert kinds_of(w.recipient_rep) == ["grant_expiring", "request_approved"]
    mail = next(m for m in smtp.to(w.recipient_rep.email) if "beigsies" in subject(m))
    assert "pēc 30 dienām" in subject(mail)
    # a week before the end: the 7-day notice, once
    assert checks.grants_expiring(today=grant.valid_until - timedelta(days=6)) == 1
    assert checks.grants_expiring(today=grant.valid_until - timedelta(days=6)) == 0
    assert AdminEntry.objects.filter(action="notifications.grant.expiring").count() == 2


def test_grant_quota_80_percent(smtp):
    from dagr.grants.models import GrantUsage

    w = make_world()
    grant = make_approved(w, quota=10)
    GrantUsage.objects.create(grant=grant, day=timezone.localdate(), count=7)
    assert checks.grants_quota() == 0
    GrantUsage.objects.filter(grant=grant).update(count=8)
    assert checks.grants_quota() == 1
    assert checks.grants_quota() == 0
    run_worker_steps()
    assert "grant_quota" in kinds_of(w.recipient_rep)
    mail = next(m for m in smtp.to(w.recipient_rep.email) if "80 %" in subject(m))
    assert "8 no 10" in parts(mail)["text/plain"]


def test_dataset_stale(smtp):
    from dagr.catalog.models import Dataset

    w = make_world()
    Dataset.objects.filter(pk=w.dataset.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert checks.datasets_stale() == 1
    assert checks.datasets_stale() == 0
    run_worker_steps()
    assert kinds_of(w.provider_rep) == ["dataset_stale"]
    assert "nav atjaunota 24 stundas" in subject(smtp.to(w.provider_rep.email)[0])


def test_webhook_suspended(smtp):
    from dagr.monitoring import deliveries
    from dagr.monitoring.models import RecordSet, Subscription

    w = make_world()
    grant = make_approved(w)
    record_set = RecordSet.objects.create(
        institution=w.recipient, grant=grant, dataset=w.dataset, name="Klienti"
    )
    subscription = Subscription.objects.create(
        record_set=record_set, url="https://example.lv/hook", secret_encrypted="x"
    )
    deliveries._audit("suspended", actor=None, subscription=subscription, reason="http_503")
    run_worker_steps()
    assert "webhook_suspended" in kinds_of(w.recipient_rep)
    mail = next(m for m in smtp.to(w.recipient_rep.email) if "apturēts" in subject(m))
    assert "http_503" in parts(mail)["text/plain"]


def test_release_published_kind(smtp):
    """The anonymisation app is built in parallel: its action, as it will write it."""
    w = make_world()
    admin_entry_create(
        action="anonymisation.release.published",
        actor=SYSTEM,
        target_type="anonymisation.release",
        target_id="3",
        target_label="Personas – testa dati v3",
        institution_id=w.provider.pk,
        changes={"dataset": w.dataset.code},
    )
    run_worker_steps()
    assert kinds_of(w.provider_rep) == ["release_published"]
    assert "Personas – testa dati v3" in subject(smtp.to(w.provider_rep.email)[0])


def test_preference_off_keeps_inbox_but_no_mail_and_security_stays_on(smtp):
    w = make_world()
    Preference.objects.create(user=w.provider_rep, kind="access_requested", email=False)
    Preference.objects.create(user=w.provider_rep, kind="role_granted", email=False)
    make_request(w)
    account_services.membership_grant(
        actor=SYSTEM, user=w.provider_rep, institution=w.recipient, role=Membership.Role.RECIPIENT
    )
    run_worker_steps()
    assert kinds_of(w.provider_rep) == ["access_requested", "role_granted"]
    assert [subject(m) for m in smtp.to(w.provider_rep.email)] == [
        "Jums piešķirta loma: datu ņēmēja pārstāvis"
    ]


def test_dispatch_is_once_and_survives_a_crash(smtp, monkeypatch):
    w = make_world()
    make_request(w)
    before = DispatchCursor.objects.get(name="audit").last_seq

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the process dies after writing some rows")

    # a failure after the notification rows were written, before the cursor moved: the whole
    # transaction is rolled back (simulated by failing the cursor save)
    monkeypatch.setattr(DispatchCursor, "save", boom)
    with pytest.raises(RuntimeError):
        dispatch.dispatch_pending()
    monkeypatch.undo()
    assert Notification.objects.count() == 0 and Delivery.objects.count() == 0
    assert DispatchCursor.objects.get(name="audit").last_seq == before
    run_worker_steps()
    run_worker_steps()
    assert Notification.objects.filter(user=w.provider_rep).count() == 1
    assert len(smtp.to(w.provider_rep.email)) == 1


def test_the_worker_tick_does_it_all(smtp, settings):
    """``tasks.tick`` (what ``dagr worker`` runs every few seconds): checks, dispatch, send."""
    from dagr.notifications import tasks

    settings.NOTIFICATIONS_CHECK_INTERVAL_S = 0
    w = make_world()
    make_approved(w, valid_until=timezone.localdate() + timedelta(days=5))
    result = tasks.tick()
    assert result["checks"] == 1  # the 7-day notice
    assert result["notified"] >= 3 and result["sent"] >= 3
    assert "grant_expiring" in kinds_of(w.recipient_rep)
    assert settings.DAGR_PERIODIC_JOBS["dagr.notifications.tasks.tick"] == 5.0
