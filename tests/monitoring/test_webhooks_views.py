"""The webhook page of a record set: access, create (secret shown once), URL errors as form
errors, rotate, pause/resume, delete, the delivery table; Latvian first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dagr.accounts.models import Membership
from dagr.core import crypto
from dagr.monitoring.models import Delivery, Subscription
from tests.factories import make_user
from tests.monitoring.record_set_helpers import make_set
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(settings):
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = False
    world = make_world()
    world.record_set = make_set(world, identifier_field="")
    world.url = reverse("monitoring:webhook", args=[world.record_set.pk])
    return world


def test_access(client, w):
    response = client.get(w.url)
    assert response.status_code == 302 and "login" in response["Location"]  # anonymous
    provider = make_user(institution=w.provider, roles=(Membership.Role.PROVIDER,))
    client.force_login(provider)
    assert client.get(w.url).status_code == 403
    other = make_world()
    client.force_login(other.recipient_rep)  # a recipient of another institution
    assert client.get(w.url).status_code == 404
    assert client.post(w.url, {"action": "save", "url": "https://8.8.8.8/"}).status_code == 404
    assert not Subscription.objects.exists()
    client.force_login(w.recipient_rep)
    assert client.get(w.url).status_code == 200


def test_create_shows_the_secret_once(client, w):
    client.force_login(w.recipient_rep)
    response = client.post(w.url, {"action": "save", "url": "https://8.8.8.8/hook"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    subscription = Subscription.objects.get()
    assert crypto.decrypt(subscription.secret_encrypted) == secret
    again = client.get(w.url)
    assert secret not in again.content.decode()
    assert "https://8.8.8.8/hook" in again.content.decode()


def test_refused_url_is_a_form_error_in_latvian_and_english(client, w):
    client.force_login(w.recipient_rep)
    response = client.post(w.url, {"action": "save", "url": "https://169.254.169.254/"})
    assert response.status_code == 200
    errors = response.context["form"].errors["url"]
    assert errors == [
        "Tīmekļa āķa URL ved uz privātu, atgriezeniskās cilpas vai citu iekšēju tīkla adresi, "
        "kas nav atļauts."
    ]
    english = client.post(
        w.url, {"action": "save", "url": "http://8.8.8.8/"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.context["form"].errors["url"] == ["The webhook URL must use https."]
    assert not Subscription.objects.exists()


def test_manage_and_deliveries_table(client, w):
    client.force_login(w.recipient_rep)
    client.post(w.url, {"action": "save", "url": "https://8.8.8.8/hook"})
    subscription = Subscription.objects.get()
    Delivery.objects.create(
        subscription=subscription, message_id="msg_a", cursor_to="c", changes=7, payload="{}",
        status=Delivery.Status.RETRYING, attempts=2, last_status_code=500,
        last_error="HTTP 500: boom",
    )  # fmt: skip
    page = client.get(w.url).content.decode()
    assert "HTTP 500: boom" in page and ">7<" in page
    assert "mēģina vēlreiz" in page  # status in Latvian
    assert client.post(w.url, {"action": "pause"}).status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "paused"
    client.post(w.url, {"action": "resume"})
    subscription.refresh_from_db()
    assert subscription.status == "active"
    old = subscription.secret_encrypted
    rotated = client.post(w.url, {"action": "rotate"})
    assert rotated.context["secret"].startswith("whsec_")
    subscription.refresh_from_db()
    assert subscription.secret_encrypted != old
    changed = client.post(w.url, {"action": "save", "url": "https://8.8.4.4/new"})
    assert changed.status_code == 302
    subscription.refresh_from_db()
    assert subscription.url == "https://8.8.4.4/new"
    client.post(w.url, {"action": "delete"})
    assert not Subscription.objects.exists()
    english = client.get(w.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Create the webhook" in english
