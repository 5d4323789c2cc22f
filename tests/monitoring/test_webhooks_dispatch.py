"""Delivering a record set's feed to a real HTTP receiver on loopback: signed, in order, retried
with the same webhook-id and body, backoff, suspension and resume, pause, the one-sender lease,
feed errors, the load trigger and the real database worker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook

from dagr.audit.models import AdminEntry
from dagr.core.actors import SYSTEM
from dagr.grants.models import Grant
from dagr.monitoring import deliveries
from dagr.monitoring.models import Delivery, Subscription
from dagr.records.services import records_upsert
from tests.monitoring.record_set_helpers import make_set
from tests.monitoring.webhook_receiver import receiver  # noqa: F401 (fixture)
from tests.retrieval.factories import company, make_world, set_grant

pytestmark = pytest.mark.django_db
TASK = "dagr.monitoring.tasks.subscription_dispatch_task"


@pytest.fixture
def w(receiver):  # noqa: F811
    world = make_world()
    world.record_set = make_set(world, identifier_field="")
    return world


def subscribe(w, receiver):  # noqa: F811
    subscription, secret = deliveries.subscription_create(
        actor=w.recipient_rep, record_set_id=w.record_set.pk, url=receiver.url
    )
    return subscription, secret


def make_due(subscription):
    Delivery.objects.filter(subscription=subscription, status__in=deliveries.OPEN).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def verify(secret, request):
    """Standard Webhooks' own verification and an independent HMAC computation."""
    document = Webhook(secret).verify(request.body, request.headers)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
    digest = hmac.new(key, signed + request.body, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    return document


def test_pages_arrive_signed_and_in_order(w, receiver, monkeypatch):  # noqa: F811
    monkeypatch.setattr(deliveries, "PAGE_SIZE", 5)
    subscription, secret = subscribe(w, receiver)
    assert deliveries.subscription_dispatch(subscription.pk) == 5
    documents = [verify(secret, r) for r in receiver.requests]
    assert len(documents) == 5
    ids = [c["id"] for d in documents for c in d["changes"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 22
    first = documents[0]
    assert first["type"] == "record_set.changes"
    # The first delivery starts the set's feed: the receiver replaces its copy; later ones merge.
    assert [d["reset"] for d in documents] == [True, False, False, False, False]
    assert first["record_set"] == w.record_set.pk and first["dataset"] == w.dataset.code
    assert first["changes"][0]["operation"] == "created" and "secret_note" not in str(first)
    assert [c["operation"] for c in documents[-1]["changes"]][-1] == "deleted"  # company 23
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 5
    subscription.refresh_from_db()
    assert subscription.cursor == documents[-1]["next_cursor"]
    assert list(subscription.deliveries.values_list("status", flat=True)) == ["succeeded"] * 5
    assert deliveries.subscription_dispatch(subscription.pk) == 0  # nothing new
    assert len(receiver.requests) == 5


def test_a_committed_load_queues_a_dispatch(w, receiver, django_capture_on_commit_callbacks):  # noqa: F811
    subscription, secret = subscribe(w, receiver)
    deliveries.subscription_dispatch(subscription.pk)
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(5, name="SIA Jauns")])
    queued = DBTaskResult.objects.filter(task_path=TASK)
    assert [t.args_kwargs["kwargs"] for t in queued] == [{"subscription_id": subscription.pk}]
    assert deliveries.subscription_dispatch(subscription.pk) == 1
    document = verify(secret, receiver.requests[-1])
    assert [(c["operation"], c["key"]) for c in document["changes"]] == [("updated", "40000000005")]
    assert document["changes"][0]["record"]["name"] == "SIA Jauns"
    # an unchanged load changes nothing and queues nothing
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(5, name="SIA Jauns")])
    assert not DBTaskResult.objects.exists()


def test_failures_are_retried_with_the_same_id_and_body(w, receiver):  # noqa: F811
    subscription, secret = subscribe(w, receiver)
    receiver.script = [500, "close"]
    before = timezone.now()
    assert deliveries.subscription_dispatch(subscription.pk) == 0
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("retrying", 1, 500)
    first_wait = (delivery.next_attempt_at - before).total_seconds()
    assert 5 <= first_wait <= 6
    retry = DBTaskResult.objects.filter(task_path=TASK, run_after=delivery.next_attempt_at)
    assert retry.count() == 1  # the retry is queued for when it is due
    # not due yet: nothing is sent
    assert deliveries.subscription_dispatch(subscription.pk) == 0
    assert len(receiver.requests) == 1
    make_due(subscription)
    before = timezone.now()
    deliveries.subscription_dispatch(subscription.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("retrying", 2, None)
    assert delivery.last_error
    second_wait = (delivery.next_attempt_at - before).total_seconds()
    assert 10 <= second_wait <= 11.5 and second_wait > first_wait
    make_due(subscription)
    assert deliveries.subscription_dispatch(subscription.pk) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    assert delivery.delivered_at and delivery.next_attempt_at is None and not delivery.last_error
    requests = receiver.requests
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {delivery.message_id}
    assert {r.body for r in requests} == {delivery.payload.encode()}
    for request in requests:
        verify(secret, request)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0
    assert subscription.cursor == delivery.cursor_to


def test_the_backoff_grows_and_is_capped():
    waits = [deliveries.backoff_seconds(n, jitter=0) for n in range(1, 16)]
    assert waits[:5] == [5, 10, 20, 40, 80]
    assert all(a < b for a, b in itertools.pairwise(waits[:10]))
    assert max(waits) == 3600 and waits[-1] == 3600
    for n in range(1, 16):
        wait = deliveries.backoff_seconds(n)
        base = deliveries.backoff_seconds(n, jitter=0)
        assert base <= wait <= min(base * 1.1, 3600)


def test_suspended_after_max_attempts_then_resumed(w, receiver):  # noqa: F811
    subscription, secret = subscribe(w, receiver)
    receiver.default = 503
    for _ in range(deliveries.MAX_ATTEMPTS):
        make_due(subscription)
        deliveries.subscription_dispatch(subscription.pk)
    delivery = Delivery.objects.get(subscription=subscription)
    subscription.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == deliveries.MAX_ATTEMPTS
    assert subscription.status == "suspended"
    assert AdminEntry.objects.filter(action="monitoring.subscription.suspended").exists()
    make_due(subscription)
    deliveries.subscription_dispatch(subscription.pk)
    assert len(receiver.requests) == deliveries.MAX_ATTEMPTS  # nothing while suspended
    receiver.default = 204
    deliveries.subscription_resume(actor=w.recipient_rep, subscription=subscription)
    assert deliveries.subscription_dispatch(subscription.pk) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == deliveries.MAX_ATTEMPTS + 1
    assert receiver.requests[-1].headers["webhook-id"] == delivery.message_id
    verify(secret, receiver.requests[-1])


def test_nothing_is_sent_while_paused(w, receiver):  # noqa: F811
    subscription, _secret = subscribe(w, receiver)
    deliveries.subscription_pause(actor=w.recipient_rep, subscription=subscription)
    assert deliveries.subscription_dispatch(subscription.pk) == 0
    assert receiver.requests == [] and not Delivery.objects.exists()
    deliveries.subscription_resume(actor=w.recipient_rep, subscription=subscription)
    assert deliveries.subscription_dispatch(subscription.pk) == 1


def test_one_sender_at_a_time(w, receiver):  # noqa: F811
    """A run that holds the lease of a delivery keeps every other run away from it; an outcome
    that arrives after another run took the delivery over is ignored."""
    subscription, _secret = subscribe(w, receiver)
    step = deliveries._next_step(subscription.pk)
    page = deliveries._read_page(subscription.pk, step)
    leased = deliveries._store_page(subscription.pk, step, page)
    assert isinstance(leased, deliveries._Send)
    # a second run meanwhile: the delivery is leased, so it sends nothing and adds nothing
    assert deliveries.subscription_dispatch(subscription.pk) == 0
    assert receiver.requests == [] and Delivery.objects.count() == 1
    # the first run's worker died; the lease runs out and a later run takes the delivery over
    make_due(subscription)
    assert deliveries.subscription_dispatch(subscription.pk) == 1
    # the late outcome of the first run changes nothing
    late = deliveries.webhooks.PostResult(ok=False, status_code=500, error="HTTP 500")
    assert deliveries._record_outcome(subscription.pk, leased, late) is False
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    # and the lease queued a run for when it would have run out
    assert DBTaskResult.objects.filter(task_path=TASK, run_after__isnull=False).exists()


def test_a_narrow_set_moves_its_cursor_without_deliveries(receiver):  # noqa: F811
    w = make_world()
    w.record_set = make_set(
        w, identifier_field="", conditions=[{"field": "city", "op": "eq", "value": "Cēsis"}]
    )
    subscription, _secret = subscribe(w, receiver)
    assert deliveries.subscription_dispatch(subscription.pk) == 0
    subscription.refresh_from_db()
    assert subscription.cursor and not Delivery.objects.exists() and receiver.requests == []


def test_a_revoked_grant_suspends_the_subscription(w, receiver):  # noqa: F811
    subscription, _secret = subscribe(w, receiver)
    set_grant(w.grant, status=Grant.Status.REVOKED)
    assert deliveries.subscription_dispatch(subscription.pk) == 0
    subscription.refresh_from_db()
    assert subscription.status == "suspended"
    marker = Delivery.objects.get()
    assert marker.status == "failed" and marker.changes == 0 and "grant" in marker.last_error
    assert receiver.requests == []


def test_changed_terms_start_the_feed_again(w, receiver):  # noqa: F811
    subscription, _secret = subscribe(w, receiver)
    deliveries.subscription_dispatch(subscription.pk)
    count = len(receiver.requests)
    set_grant(w.grant, conditions=[{"field": "active", "op": "eq", "value": True}])
    deliveries.subscription_dispatch(subscription.pk)
    statuses = list(Delivery.objects.order_by("id").values_list("status", "last_error"))
    assert statuses[count][0] == "failed" and statuses[count][1].startswith("cursor_outdated")
    assert len(receiver.requests) == count + 1  # everything again, under the new terms
    document = json.loads(receiver.requests[-1].body)
    assert {c["key"] for c in document["changes"]} >= {"40000000022"}  # now inside the grant
    assert document["reset"] is True  # replace, do not merge: company 4 may have left the set


def test_an_undecryptable_secret_is_a_failed_attempt(w, receiver):  # noqa: F811
    subscription, _secret = subscribe(w, receiver)
    Subscription.objects.filter(pk=subscription.pk).update(secret_encrypted="garbage")
    deliveries.subscription_dispatch(subscription.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying" and "rotate" in delivery.last_error
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_delivers(w, receiver):  # noqa: F811
    """The real worker (committed rows: it closes its database connection when done)."""
    _subscription, secret = subscribe(w, receiver)  # queues the first run
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    assert len(receiver.requests) == 1
    verify(secret, receiver.requests[0])
    assert Delivery.objects.get().status == "succeeded"


def test_a_used_up_quota_waits_for_tomorrow_instead_of_suspending(
    w,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    from dagr.retrieval import services

    subscription, _secret = subscribe(w, receiver)
    set_grant(w.grant, quota=1)
    caller = services.Caller(institution_id=w.recipient.pk, label="test")
    services.records_changes(caller=caller, dataset_code=w.dataset.code, permission_number="ATL-1")
    DBTaskResult.objects.filter(task_path=TASK).delete()
    for _attempt in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert deliveries.subscription_dispatch(subscription.pk) == 0
    subscription.refresh_from_db()
    assert subscription.status == "active" and receiver.requests == []
    (marker,) = Delivery.objects.filter(subscription=subscription)  # one marker, not three
    assert marker.status == "failed" and marker.last_error.startswith("quota_exceeded")
    queued = DBTaskResult.objects.filter(task_path=TASK, run_after__isnull=False)
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert queued.exists()
    assert all(timezone.localtime(t.run_after).date() == tomorrow for t in queued)
