"""The webhook page of a record set: access, create and rotate with Post/Redirect/Get (the secret
shown exactly once, across the redirect and a reload), URL errors as form errors, pause/resume,
delete, the delivery table with translated error categories, a suspended webhook's reason and
how to resume; Latvian first."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from dagr.accounts.models import Membership
from dagr.core import crypto
from dagr.monitoring import deliveries
from dagr.monitoring.models import Delivery, Subscription
from tests.factories import make_user
from tests.monitoring.record_set_helpers import make_set
from tests.monitoring.webhook_receiver import receiver  # noqa: F401 (fixture)
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db

SECRET_KEY = "monitoring.webhook_secret.{}"


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
    response = client.post(w.url, {"action": "save", "url": "https://8.8.8.8/"})
    assert response.status_code == 302 and "login" in response["Location"]
    provider = make_user(institution=w.provider, roles=(Membership.Role.PROVIDER,))
    client.force_login(provider)
    assert client.get(w.url).status_code == 403
    other = make_world()
    client.force_login(other.recipient_rep)  # a recipient of another institution
    assert client.get(w.url).status_code == 404
    assert client.post(w.url, {"action": "save", "url": "https://8.8.8.8/"}).status_code == 404
    assert not Subscription.objects.exists()
    deliveries.subscription_create(
        actor=w.recipient_rep, record_set_id=w.record_set.pk, url="https://8.8.8.8/"
    )
    assert client.post(w.url, {"action": "rotate"}).status_code == 404
    assert client.post(w.url, {"action": "delete"}).status_code == 404
    assert Subscription.objects.exists()
    client.force_login(w.recipient_rep)
    assert client.get(w.url).status_code == 200


def test_create_shows_the_secret_once_across_a_redirect_and_a_reload(client, w, caplog):
    client.force_login(w.recipient_rep)
    caplog.set_level(logging.DEBUG)
    response = client.post(w.url, {"action": "save", "url": "https://8.8.8.8/hook"})
    assert response.status_code == 302 and response["Location"] == w.url
    subscription = Subscription.objects.get()
    secret = crypto.decrypt(subscription.secret_encrypted)
    assert secret.startswith("whsec_")
    assert secret not in response.content.decode()
    # Kept for one page view, encrypted; never in a cookie (messages) or a log line.
    key = SECRET_KEY.format(w.record_set.pk)
    assert crypto.decrypt(client.session[key]) == secret
    assert secret not in str(client.session[key])
    assert all(secret not in morsel.value for morsel in client.cookies.values())
    shown = client.get(w.url)
    page = shown.content.decode()
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert page.count(secret) == 1
    assert "Tīmekļa āķis izveidots." in page  # the success message
    assert "tas vairs netiks parādīts, arī ne tad, ja pārlādēsiet šo lapu" in page
    assert key not in client.session
    reload = client.get(w.url)
    assert reload.status_code == 200 and secret not in reload.content.decode()
    assert "no-store" not in reload.get("Cache-Control", "")
    assert "https://8.8.8.8/hook" in reload.content.decode()
    assert secret not in caplog.text


def test_rotate_shows_the_new_secret_once_in_english(client, w):
    client.force_login(w.recipient_rep)
    client.post(w.url, {"action": "save", "url": "https://8.8.8.8/hook"})
    first = client.get(w.url).context["secret"]
    response = client.post(w.url, {"action": "rotate"})
    assert response.status_code == 302 and response["Location"] == w.url
    page = client.get(w.url, HTTP_ACCEPT_LANGUAGE="en")
    second = page.context["secret"]
    assert second.startswith("whsec_") and second != first
    text = page.content.decode()
    assert second in text and first not in text
    assert "it will not be shown again, not even when you reload this page" in text
    assert crypto.decrypt(Subscription.objects.get().secret_encrypted) == second
    assert client.get(w.url).context["secret"] is None


def test_refused_url_is_a_form_error_in_latvian_and_english(client, w):
    client.force_login(w.recipient_rep)
    response = client.post(w.url, {"action": "save", "url": "https://169.254.169.254/"})
    assert response.status_code == 422
    errors = response.context["form"].errors["url"]
    assert errors == [
        "Tīmekļa āķa URL ved uz privātu, atgriezeniskās cilpas vai citu iekšēju tīkla adresi, "
        "kas nav atļauts."
    ]
    english = client.post(
        w.url, {"action": "save", "url": "http://8.8.8.8/"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.context["form"].errors["url"] == ["The webhook URL must use https."]
    assert english.context["secret"] is None
    assert not Subscription.objects.exists()


def test_manage_and_deliveries_table(client, w):
    client.force_login(w.recipient_rep)
    client.post(w.url, {"action": "save", "url": "https://8.8.8.8/hook"})
    subscription = Subscription.objects.get()
    Delivery.objects.create(
        subscription=subscription, message_id="msg_a", cursor_to="c", changes=7, payload="{}",
        status=Delivery.Status.RETRYING, attempts=2, last_status_code=500,
        last_error="http: HTTP 500: boom",
    )  # fmt: skip
    page = client.get(w.url).content.decode()
    assert "Galapunkts atbildēja ar HTTP 500" in page and ">7<" in page
    assert "<details><summary>Tehniskā informācija</summary><code>HTTP 500: boom</code>" in page
    assert "mēģina vēlreiz" in page  # status in Latvian
    assert client.post(w.url, {"action": "pause"}).status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "paused"
    assert "nekas netiek sūtīts" in client.get(w.url).content.decode()
    client.post(w.url, {"action": "resume"})
    subscription.refresh_from_db()
    assert subscription.status == "active"
    changed = client.post(w.url, {"action": "save", "url": "https://8.8.4.4/new"})
    assert changed.status_code == 302
    subscription.refresh_from_db()
    assert subscription.url == "https://8.8.4.4/new"
    client.post(w.url, {"action": "delete"})
    assert not Subscription.objects.exists()
    english = client.get(w.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Create the webhook" in english


def test_an_unknown_action_or_a_missing_webhook_is_no_dead_end(client, w):
    client.force_login(w.recipient_rep)
    response = client.post(w.url, {"action": "rotate"})  # no webhook yet
    assert response.status_code == 302
    page = client.get(w.url).content.decode()
    assert "Šai ierakstu kopai nav tīmekļa āķa." in page  # the error, on the page it came from
    assert client.post(w.url, {"action": "nonsense"}).status_code == 302


def test_a_suspended_webhook_says_why_and_how_to_resume(client, w):
    client.force_login(w.recipient_rep)
    subscription, _secret = deliveries.subscription_create(
        actor=w.recipient_rep, record_set_id=w.record_set.pk, url="https://8.8.8.8/hook"
    )
    Delivery.objects.create(
        subscription=subscription, message_id="msg_b", cursor_to="c", changes=3, payload="{}",
        status=Delivery.Status.FAILED, attempts=15,
        last_error="connect: NewConnectionError: HTTPSConnection(host='8.8.8.8', port=443): "
        "Failed to establish a new connection: [Errno 111] Connection refused",
    )  # fmt: skip
    Subscription.objects.filter(pk=subscription.pk).update(status="suspended")
    page = client.get(w.url).content.decode()
    assert "Tīmekļa āķis ir apturēts pēc kļūmēm" in page
    assert "<strong>Iemesls:</strong> Neizdevās izveidot savienojumu" in page
    assert "nospiediet “Atsākt”" in page
    assert "Connection refused" in page  # in the technical details
    english = client.get(w.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<strong>Reason:</strong> Could not connect" in english
    assert "then press “Resume”" in english


def test_failed_deliveries_show_a_category_not_an_exception(client, w, receiver):  # noqa: F811
    """Real attempts against a real receiver (500) and a closed port (refused)."""
    receiver.default = 500
    subscription, _secret = deliveries.subscription_create(
        actor=w.recipient_rep, record_set_id=w.record_set.pk, url=receiver.url
    )
    deliveries.subscription_dispatch(subscription.pk)
    delivery = Delivery.objects.get()
    assert delivery.last_error.startswith("http: HTTP 500")
    client.force_login(w.recipient_rep)
    page = client.get(w.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The endpoint answered HTTP 500" in page
    Subscription.objects.filter(pk=subscription.pk).update(url="http://127.0.0.1:9/hook")
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    deliveries.subscription_dispatch(subscription.pk)
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("connect: NewConnectionError")
    assert delivery.last_status_code is None and len(delivery.last_error) <= 500
    page = client.get(w.url).content.decode()
    assert "Neizdevās izveidot savienojumu" in page
    label, _sep, details = page.partition("<details>")
    assert "NewConnectionError" not in label.rsplit("<td>", 1)[-1]  # only in the details
    assert "NewConnectionError" in details
