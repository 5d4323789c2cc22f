"""Delivery errors in words a person understands: the kind stored with the technical detail
(within the column's 500 characters), the translated label shown by the portal, old rows."""

from __future__ import annotations

import pytest
from django.utils import translation

from dagr.monitoring import delivery_errors as de
from dagr.monitoring import webhooks
from dagr.monitoring.models import Delivery
from tests.monitoring.webhook_receiver import receiver  # noqa: F401 (fixture)

REFUSED = (
    "NewConnectionError: HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new "
    "connection: [Errno 111] Connection refused"
)


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (REFUSED, None, de.CONNECT),
        ("no address to connect to", None, de.CONNECT),
        ("ConnectTimeoutError: (<HTTPSConnection>, 'Connection to x timed out.')", None,
         de.TIMEOUT),
        ("ReadTimeoutError: HTTPSConnectionPool(host='x', port=443): Read timed out.", None,
         de.TIMEOUT),
        ("SSLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", None, de.TLS),
        ("ProtocolError: ('Connection aborted.', RemoteDisconnected('Remote end closed'))", None,
         de.CLOSED),
        ("webhook_url_not_allowed: The webhook URL must use https.", None, de.ADDRESS),
        ("webhook_url_invalid: The host name of the webhook URL cannot be resolved.", None,
         de.UNRESOLVABLE),
        (de.SECRET_UNREADABLE, None, de.SECRET),
        ("HTTP 500: boom", 500, de.HTTP),
        ("HTTP 302: redirects are not followed", 302, de.REDIRECT),
        ("HTTP 404", None, de.HTTP),
        ("something else entirely", None, de.OTHER),
    ],
)  # fmt: skip
def test_classify_attempt(error, status, kind):
    assert de.classify_attempt(error, status) == kind


def test_the_stored_text_keeps_the_detail_within_the_column():
    assert de.attempt_error(REFUSED) == f"connect: {REFUSED}"
    long = de.attempt_error("HTTP 500: " + "x" * 1000, 500)
    assert len(long) == de.MAX_LENGTH == Delivery._meta.get_field("last_error").max_length
    assert long.startswith("http: HTTP 500: xx")
    assert len(de.feed_error("grant_revoked", "y" * 1000)) == de.MAX_LENGTH


@pytest.mark.parametrize(
    ("stored", "status", "lv", "en"),
    [
        (f"connect: {REFUSED}", None, "Neizdevās izveidot savienojumu", "Could not connect"),
        ("timeout: ReadTimeoutError: Read timed out.", None, "Beidzās gaidīšanas laiks",
         "Timed out"),
        ("tls: SSLError: [SSL: CERTIFICATE_VERIFY_FAILED]", None,
         "TLS sertifikāts netika pieņemts", "TLS certificate not accepted"),
        ("http: HTTP 500: boom", 500, "Galapunkts atbildēja ar HTTP 500",
         "The endpoint answered HTTP 500"),
        ("redirect: HTTP 302: redirects are not followed", 302,
         "Galapunkts atbildēja ar pāradresāciju (HTTP 302); pāradresācijām neseko",
         "The endpoint answered with a redirect (HTTP 302); redirects are not followed"),
        ("address: webhook_url_not_allowed: …", None, "Adrese nav atļauta",
         "The address is not allowed"),
        ("grant_revoked: Piekļuves atļauja ir atsaukta.", None,
         "Izmaiņu plūsmas kļūda: ", "Feed error: The access grant has been revoked."),
        ("cursor_outdated: …", None, "Izmaiņu plūsmas kļūda: Mainījās piekļuves noteikumi",
         "Feed error: The access terms or the record set's conditions changed"),
        ("invalid_cursor: …", None, "Izmaiņu plūsmas kļūda: ierakstu kopas izmaiņas",
         "Feed error: the record set's changes could not be read"),
        # rows written before the kinds were stored
        ("HTTP 503: busy", 503, "Galapunkts atbildēja ar HTTP 503",
         "The endpoint answered HTTP 503"),
        (REFUSED, None, "Neizdevās izveidot savienojumu", "Could not connect"),
        ("webhook_url_not_allowed: The webhook URL must use https.", None, "Adrese nav atļauta",
         "The address is not allowed"),
    ],
)  # fmt: skip
def test_describe_in_both_languages(stored, status, lv, en):
    with translation.override("lv"):
        described = de.describe(stored, status)
        assert described is not None and described.label.startswith(lv)
    with translation.override("en"):
        described = de.describe(stored, status)
        assert described is not None and described.label.startswith(en)
        assert described.detail and described.detail in stored


def test_describe_nothing():
    assert de.describe("") is None


def test_real_failures_are_classified(receiver):  # noqa: F811
    secret = webhooks.secret_new()
    receiver.script = [500, "close"]
    first = webhooks.webhook_post(url=receiver.url, secret=secret, message_id="m", body="{}")
    assert de.classify_attempt(first.error, first.status_code) == de.HTTP
    second = webhooks.webhook_post(url=receiver.url, secret=secret, message_id="m", body="{}")
    assert de.classify_attempt(second.error, second.status_code) == de.CLOSED
    refused = webhooks.webhook_post(
        url="http://127.0.0.1:9/hook", secret=secret, message_id="m", body="{}"
    )
    assert de.classify_attempt(refused.error, refused.status_code) == de.CONNECT
