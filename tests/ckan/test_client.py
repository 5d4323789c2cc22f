"""The Action API client against the stand-in: the envelope, each error kind, and the SSRF
guard (the base URL must be public unless DAGR_CKAN_ALLOW_PRIVATE)."""

import pytest

from dagr.ckan.client import CkanClient, CkanError
from tests.ckan.conftest import TOKEN


def test_an_action_returns_its_result(ckan):
    org = CkanClient(ckan.url, TOKEN).call("organization_show", {"id": "ur"})
    assert org["name"] == "ur" and org["title"] == "Uzņēmumu reģistrs"
    assert ckan.requests[-1].method == "GET"
    assert ckan.requests[-1].headers["authorization"] == TOKEN


def test_validation_errors_come_with_their_fields(ckan):
    with pytest.raises(CkanError) as caught:
        CkanClient(ckan.url, TOKEN).call("package_create", {"name": "A b", "owner_org": "ur"})
    error = caught.value
    assert error.kind == "validation" and error.status == 409
    assert error.fields["name"] == [
        "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"
    ]
    assert error.fields["title_translated"] == ["Missing value"]


def test_not_found_and_authorization_errors(ckan):
    client = CkanClient(ckan.url, TOKEN)
    with pytest.raises(CkanError) as caught:
        client.call("package_show", {"id": "nope"})
    assert (caught.value.kind, caught.value.status) == ("not_found", 404)
    with pytest.raises(CkanError) as caught:
        CkanClient(ckan.url, "wrong").call(
            "package_create", {"name": "abc", "owner_org": "ur", "title_translated": {}}
        )
    assert caught.value.kind in ("authorization", "validation")
    assert caught.value.status in (403, 409)
    with pytest.raises(CkanError) as caught:
        CkanClient(ckan.url, "wrong").call("package_delete", {"id": "nope"})
    assert caught.value.kind == "not_found"


def test_a_server_error_and_a_timeout_are_transient(ckan):
    client = CkanClient(ckan.url, TOKEN)
    ckan.faults = [503, "close", "slow"]
    ckan.slow_seconds = 2.0
    for _ in range(3):
        with pytest.raises(CkanError) as caught:
            client.call("organization_show", {"id": "ur"})
        assert caught.value.kind == "transient"
    assert client.call("organization_show", {"id": "ur"})["name"] == "ur"


def test_the_token_is_in_no_error_text(ckan):
    ckan.faults = [500]
    with pytest.raises(CkanError) as caught:
        CkanClient(ckan.url, TOKEN).call("organization_show", {"id": "ur"})
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert TOKEN not in repr(CkanClient(ckan.url, TOKEN))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9", "https://10.0.0.5", "https://169.254.169.254", "https://[::1]"],
)
def test_internal_addresses_are_refused_unless_allowed(settings, url):
    settings.DAGR_CKAN_ALLOW_PRIVATE = False
    with pytest.raises(CkanError) as caught:
        CkanClient(url, TOKEN).call("organization_show", {"id": "ur"})
    assert caught.value.kind == "refused"


def test_the_stand_in_is_only_reachable_because_the_tests_allow_loopback(ckan, settings):
    settings.DAGR_CKAN_ALLOW_PRIVATE = False
    with pytest.raises(CkanError) as caught:
        CkanClient(ckan.url, TOKEN).call("organization_show", {"id": "ur"})
    assert caught.value.kind == "refused"
    assert ckan.requests == []
