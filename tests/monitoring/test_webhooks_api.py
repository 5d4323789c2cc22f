"""The webhook API of a record set: who may use it (401/403/404), create/change/rotate/delete,
URL refusals as problem+json, the secret encrypted at rest, the delivery list."""

from __future__ import annotations

import json

import pytest
from django_tasks_db.models import DBTaskResult

from dagr.audit.models import AdminEntry
from dagr.core import crypto
from dagr.monitoring.models import Delivery, RecordSet, Subscription
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/record-sets"


@pytest.fixture
def w(settings):
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = False
    world = make_world()
    world.record_set = RecordSet.objects.create(
        institution=world.recipient, grant=world.grant, dataset=world.dataset, name="Uzraugāmie"
    )
    return world


def put(client, w, body, headers=None):
    return client.put(
        f"{BASE}/{w.record_set.pk}/webhook",
        data=json.dumps(body),
        content_type="application/json",
        **(headers if headers is not None else w.headers(None)),
    )


def problem(response) -> dict:
    assert response["Content-Type"] == "application/problem+json", response.content
    return json.loads(response.content)


def test_create_returns_the_secret_once_and_stores_it_encrypted(client, w):
    response = put(client, w, {"url": "https://8.8.8.8/dagr/hook"})
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["status"] == "active"
    subscription = Subscription.objects.get(record_set=w.record_set)
    assert secret not in subscription.secret_encrypted
    assert secret[6:] not in subscription.secret_encrypted
    assert crypto.decrypt(subscription.secret_encrypted) == secret
    # the first dispatch is queued for the worker
    assert DBTaskResult.objects.filter(
        task_path="dagr.monitoring.tasks.subscription_dispatch_task"
    ).exists()
    shown = client.get(f"{BASE}/{w.record_set.pk}/webhook", **w.headers(None))
    assert shown.status_code == 200
    assert shown.json()["url"] == "https://8.8.8.8/dagr/hook"
    assert "secret" not in shown.json()
    assert AdminEntry.objects.filter(action="monitoring.subscription.created").count() == 1


def test_change_url_pause_resume_rotate_delete(client, w):
    first = put(client, w, {"url": "https://8.8.8.8/a"}).json()["secret"]
    changed = put(client, w, {"url": "https://8.8.4.4/b", "status": "paused"})
    assert changed.status_code == 200
    assert changed.json()["url"] == "https://8.8.4.4/b"
    assert changed.json()["status"] == "paused" and "secret" not in changed.json()
    resumed = put(client, w, {"url": "https://8.8.4.4/b", "status": "active"})
    assert resumed.json()["status"] == "active"
    rotated = client.post(f"{BASE}/{w.record_set.pk}/webhook/rotate-secret", **w.headers(None))
    assert rotated.status_code == 200
    second = rotated.json()["secret"]
    assert second != first
    assert crypto.decrypt(Subscription.objects.get().secret_encrypted) == second
    deleted = client.delete(f"{BASE}/{w.record_set.pk}/webhook", **w.headers(None))
    assert deleted.status_code == 204
    gone = client.get(f"{BASE}/{w.record_set.pk}/webhook", **w.headers(None))
    assert gone.status_code == 404 and problem(gone)["code"] == "webhook_not_found"
    actions = set(AdminEntry.objects.values_list("action", flat=True))
    assert {
        "monitoring.subscription.url_changed",
        "monitoring.subscription.paused",
        "monitoring.subscription.resumed",
        "monitoring.subscription.secret_rotated",
        "monitoring.subscription.deleted",
    } <= actions


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://8.8.8.8/hook", "webhook_url_not_allowed"),
        ("https://127.0.0.1/hook", "webhook_url_not_allowed"),
        ("https://localhost/hook", "webhook_url_not_allowed"),
        ("https://169.254.169.254/latest/meta-data/", "webhook_url_not_allowed"),
        ("https://[::1]/hook", "webhook_url_not_allowed"),
        ("https://10.1.2.3/hook", "webhook_url_not_allowed"),
        ("ftp://8.8.8.8/", "webhook_url_invalid"),
        ("https://nonexistent.invalid/", "webhook_url_invalid"),
    ],
)
def test_refused_urls_are_422_problems(client, w, url, code):
    response = put(client, w, {"url": url})
    assert response.status_code == 422
    document = problem(response)
    assert document["code"] == code
    assert document["errors"][0]["location"] == "url"
    assert not Subscription.objects.exists()


def test_the_refusal_is_latvian_first(client, w):
    response = put(client, w, {"url": "http://8.8.8.8/"}, {**w.headers(None)})
    assert problem(response)["detail"] == "Tīmekļa āķa URL jāizmanto https."
    english = put(client, w, {"url": "http://8.8.8.8/"}, {**w.headers(None),
                  "HTTP_ACCEPT_LANGUAGE": "en"})  # fmt: skip
    assert problem(english)["detail"] == "The webhook URL must use https."


def test_access_matrix(client, w):
    other = make_world()
    paths = [
        ("get", "/webhook"),
        ("put", "/webhook"),
        ("delete", "/webhook"),
        ("post", "/webhook/rotate-secret"),
        ("get", "/webhook/deliveries"),
    ]
    put(client, w, {"url": "https://8.8.8.8/a"})
    for method, tail in paths:
        path = f"{BASE}/{w.record_set.pk}{tail}"
        call = getattr(client, method)
        kwargs = {"data": json.dumps({"url": "https://8.8.4.4/"}),
                  "content_type": "application/json"} if method == "put" else {}  # fmt: skip
        assert call(path, **kwargs).status_code == 401, (method, tail)
        bad = call(path, HTTP_AUTHORIZATION="Bearer nonsense", **kwargs)
        assert bad.status_code == 401
        provider = call(path, HTTP_AUTHORIZATION=f"Bearer {w.tokens['provider']}", **kwargs)
        assert provider.status_code == 403, (method, tail)
        stranger = call(path, **other.headers(None), **kwargs)
        assert stranger.status_code == 404, (method, tail)
        assert problem(stranger)["code"] == "record_set_not_found"
        missing = call(f"{BASE}/999999{tail}", **w.headers(None), **kwargs)
        assert missing.status_code == 404
    subscription = Subscription.objects.get()
    assert subscription.url == "https://8.8.8.8/a"  # nobody else changed it


def test_deliveries_are_listed_newest_first_in_pages(client, w):
    put(client, w, {"url": "https://8.8.8.8/a"})
    subscription = Subscription.objects.get()
    for n in range(5):
        Delivery.objects.create(
            subscription=subscription, message_id=f"msg_{n}", cursor_to=f"c{n}", changes=n,
            payload="{}", status=Delivery.Status.SUCCEEDED, attempts=1, last_status_code=200,
        )  # fmt: skip
    page = client.get(f"{BASE}/{w.record_set.pk}/webhook/deliveries?limit=3", **w.headers(None))
    assert page.status_code == 200
    body = page.json()
    assert [d["message_id"] for d in body["deliveries"]] == ["msg_4", "msg_3", "msg_2"]
    assert "payload" not in body["deliveries"][0]
    rest = client.get(
        f"{BASE}/{w.record_set.pk}/webhook/deliveries?limit=3&cursor={body['next_cursor']}",
        **w.headers(None),
    ).json()
    assert [d["message_id"] for d in rest["deliveries"]] == ["msg_1", "msg_0"]
    assert rest["next_cursor"] is None
    bad = client.get(f"{BASE}/{w.record_set.pk}/webhook/deliveries?cursor=abc", **w.headers(None))
    assert bad.status_code == 422 and problem(bad)["code"] == "invalid_cursor"
