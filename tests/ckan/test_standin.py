"""The CKAN stand-in keeps CKAN's documented behaviour that the sync relies on (so a sync that
passes here is not passing against a lenient fake): status codes and envelope, name rules,
patch semantics, deleted names, resource ids kept by ``package_update``."""

import json

import urllib3

from tests.ckan.conftest import TOKEN


def post(ckan, action, body, token=TOKEN, raw=None):
    answer = urllib3.request(
        "POST",
        f"{ckan.url}/api/3/action/{action}",
        body=raw if raw is not None else json.dumps(body).encode(),
        headers={"Authorization": token, "Content-Type": "application/json"},
        timeout=5,
        retries=False,
    )
    return answer.status, json.loads(answer.data)


def valid(**over):
    package = {
        "name": "abc",
        "owner_org": "ur",
        "title_translated": {"lv": "A", "en": "A"},
        "notes_translated": {"lv": "A", "en": "A"},
    }
    package.update(over)
    return package


def test_envelope_and_status_codes(ckan):
    status, body = post(ckan, "package_create", valid())
    assert status == 200 and body["success"] is True and body["result"]["name"] == "abc"
    assert body["help"].endswith("/api/3/action/help_show?name=package_create")
    status, body = post(ckan, "package_create", valid())
    assert status == 409 and body["success"] is False
    assert body["error"] == {"__type": "Validation Error", "name": ["That URL is already in use."]}
    status, body = post(ckan, "package_show", {"id": "missing"})
    assert status == 404 and body["error"]["__type"] == "Not Found Error"
    status, body = post(ckan, "package_create", valid(name="xyz"), token="wrong")
    assert status in (403, 409)
    status, body = post(ckan, "package_delete", {"id": "abc"}, token="wrong")
    assert status == 403 and body["error"]["__type"] == "Authorization Error"
    status, body = post(ckan, "package_create", None, raw=b"{not json")
    assert status == 400 and body["success"] is False
    status, body = post(ckan, "no_such_action", {})
    assert status == 400


def test_name_rules(ckan):
    for name, message in [
        ("a", "Must be at least 2 characters long"),
        ("x" * 101, "Name must be a maximum of 100 characters long"),
        ("Ab c", "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"),
        ("new", "That name cannot be used"),
    ]:
        status, body = post(ckan, "package_create", valid(name=name))
        assert (status, body["error"]["name"]) == (409, [message])
    status, body = post(ckan, "package_create", valid(name="ok", owner_org="other"))
    assert body["error"]["owner_org"] == ["You cannot add a dataset to this organization"]


def test_patch_keeps_what_it_does_not_name_and_deleted_names_are_free(ckan):
    _s, created = post(
        ckan,
        "package_create",
        valid(resources=[{"name_translated": {"lv": "r", "en": "r"}, "uri": "u1"}]),
    )
    package = created["result"]
    _s, patched = post(ckan, "package_patch", {"id": package["id"], "version": "2"})
    assert patched["result"]["version"] == "2"
    assert patched["result"]["resources"][0]["id"] == package["resources"][0]["id"]
    assert patched["result"]["title_translated"] == {"lv": "A", "en": "A"}
    status, _body = post(ckan, "package_delete", {"id": package["id"]})
    assert status == 200 and ckan.packages[package["id"]]["state"] == "deleted"
    status, again = post(ckan, "package_create", valid())  # the name of a deleted package
    assert status == 200 and again["result"]["id"] != package["id"]
