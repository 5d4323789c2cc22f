"""``Idempotency-Key`` on the provider loads (``dagr.records.idempotency``): a repeat within
24 h returns the first answer and loads nothing; the same key with another body is 422."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dagr.records.models import IdempotencyKey, Load
from tests.records.factories import make_dataset
from tests.records.test_api import BASE, ndjson, post_json, post_ndjson, token_for
from tests.records.test_services import companies

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(client):
    dataset = make_dataset()
    token, conn = token_for(client, dataset.provider)
    return dataset, {"HTTP_AUTHORIZATION": f"Bearer {token}"}, conn


def test_a_repeated_load_returns_the_first_answer_and_loads_nothing(client, setup):
    dataset, auth, _conn = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(5)
    keyed = {**auth, "HTTP_IDEMPOTENCY_KEY": "load-0001"}
    first = post_ndjson(client, url, ndjson(rows), keyed)
    assert first.status_code == 200, first.content
    assert first.json()["created"] == 5
    loads = Load.objects.filter(dataset=dataset).count()

    again = post_ndjson(client, url, ndjson(rows), keyed)
    assert again.status_code == 200
    assert again.content == first.content  # the first answer: created 5, the same load id
    assert again["Idempotent-Replayed"] == "true"
    assert Load.objects.filter(dataset=dataset).count() == loads  # no second load

    other = post_ndjson(client, url, ndjson(companies(6)), keyed)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Load.objects.filter(dataset=dataset).count() == loads

    fresh = post_ndjson(client, url, ndjson(rows), {**auth, "HTTP_IDEMPOTENCY_KEY": "load-0002"})
    assert fresh.status_code == 200 and fresh.json()["id"] != first.json()["id"]
    assert Load.objects.filter(dataset=dataset).count() == loads + 1


def test_deletes_honour_the_key_and_a_key_is_per_connection_and_expires(client, setup):
    dataset, auth, conn = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(4)
    keys = [row["registration_number"] for row in rows]
    assert post_json(client, url, rows, auth).status_code == 200
    keyed = {**auth, "HTTP_IDEMPOTENCY_KEY": "del-1"}
    first = post_json(client, f"{url}:delete", keys[:2], keyed)
    assert first.json()["deleted"] == 2
    again = post_json(client, f"{url}:delete", keys[:2], keyed)
    assert again.content == first.content  # not "unchanged: 2" from a second delete
    assert client.delete(f"{url}/{keys[0]}", **keyed).status_code == 422  # another request

    one = client.delete(f"{url}/{keys[3]}", **{**auth, "HTTP_IDEMPOTENCY_KEY": "del-2"})
    assert client.delete(
        f"{url}/{keys[3]}", **{**auth, "HTTP_IDEMPOTENCY_KEY": "del-2"}
    ).content == (one.content)

    IdempotencyKey.objects.filter(connection_id=conn.pk).update(
        expires_at=IdempotencyKey.objects.get(key="del-1").created_at - timedelta(seconds=1)
    )
    late = post_json(client, f"{url}:delete", keys[:2], keyed)  # expired: a new request
    assert late.json()["unchanged"] == 2
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"del-1"}  # old ones gone

    other_token, _other = token_for(client, dataset.provider)
    other = {"HTTP_AUTHORIZATION": f"Bearer {other_token}", "HTTP_IDEMPOTENCY_KEY": "del-1"}
    assert post_json(client, f"{url}:delete", keys[:2], other).json()["unchanged"] == 2


def test_a_malformed_key_is_refused(client, setup):
    dataset, auth, _conn = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    response = post_json(client, url, companies(1), {**auth, "HTTP_IDEMPOTENCY_KEY": "x" * 256})
    assert response.status_code == 422
    assert not Load.objects.filter(dataset=dataset).exists()


def test_a_key_held_by_a_load_still_running_is_409_and_loads_nothing(client, setup):
    """Two concurrent first requests with one key: the second finds the first one's reservation
    (committed before its load starts) and is told to ask again, instead of loading twice."""
    from django.utils import timezone

    from dagr.records.idempotency import IN_PROGRESS, IN_PROGRESS_LEASE

    dataset, auth, conn = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    IdempotencyKey.objects.create(  # what the first request wrote before starting its load
        connection_id=conn.pk,
        key="busy-1",
        request_hash="",
        status=IN_PROGRESS,
        body=b"",
        expires_at=timezone.now() + IN_PROGRESS_LEASE,
    )
    loads = Load.objects.filter(dataset=dataset).count()
    second = post_ndjson(
        client, url, ndjson(companies(3)), {**auth, "HTTP_IDEMPOTENCY_KEY": "busy-1"}
    )
    assert second.status_code == 409, second.content
    assert second.json()["code"] == "idempotency_key_in_use"
    assert int(second["Retry-After"]) > 0
    assert Load.objects.filter(dataset=dataset).count() == loads

    # a holder that died mid-load blocks its key only until its lease ends
    IdempotencyKey.objects.filter(key="busy-1").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    later = post_ndjson(
        client, url, ndjson(companies(3)), {**auth, "HTTP_IDEMPOTENCY_KEY": "busy-1"}
    )
    assert later.status_code == 200, later.content
    assert later.json()["created"] == 3
    stored = IdempotencyKey.objects.get(key="busy-1")
    assert (stored.status, bytes(stored.body)) == (200, later.content)


def test_a_refused_load_frees_its_key_for_the_corrected_request(client, setup):
    dataset, auth, _conn = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    keyed = {**auth, "HTTP_IDEMPOTENCY_KEY": "fix-1"}
    bad = post_ndjson(client, url, [b'{"registration_number": "x"}'], keyed)
    assert bad.status_code == 422, bad.content
    assert not IdempotencyKey.objects.filter(key="fix-1").exists()
    good = post_ndjson(client, url, ndjson(companies(2)), keyed)
    assert good.status_code == 200 and good.json()["created"] == 2
