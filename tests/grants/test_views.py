"""Portal pages of grants: the permission matrix, the request and decision flows, both languages."""

from __future__ import annotations

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.core.errors import PermissionDenied
from dagr.grants.models import Grant
from dagr.grants.services import grant_revoke
from tests.factories import make_institution, make_user
from tests.grants.factories import make_approved, make_request, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def _stranger():
    inst = make_institution(kind=Institution.Kind.BOTH)
    return make_user(institution=inst, roles=(Membership.Role.PROVIDER, Membership.Role.RECIPIENT))


def test_anonymous_is_sent_to_login(client, w):
    grant = make_request(w)
    for url in ("/grants/", "/grants/request/", f"/grants/{grant.pk}/",
                f"/grants/{grant.pk}/approve/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    client.post(f"/grants/{grant.pk}/reject/", {"note": "x"})
    grant.refresh_from_db()
    assert grant.status == Grant.Status.REQUESTED


@pytest.mark.parametrize(
    ("who", "detail", "approve_page", "request_page"),
    [
        ("recipient_rep", 200, 403, 200),
        ("provider_rep", 200, 200, 403),
        ("admin", 200, 200, 403),
        ("stranger", 404, 404, 200),
        ("nobody", 404, 404, 403),
    ],
)
def test_permission_matrix(client, w, who, detail, approve_page, request_page):
    grant = make_request(w)
    users = {
        "recipient_rep": w.recipient_rep,
        "provider_rep": w.provider_rep,
        "admin": w.admin,
        "stranger": _stranger(),
        "nobody": make_user(),
    }
    client.force_login(users[who])
    assert client.get("/grants/").status_code == 200
    assert client.get(f"/grants/{grant.pk}/").status_code == detail
    assert client.get(f"/grants/{grant.pk}/approve/").status_code == approve_page
    assert client.get("/grants/request/").status_code == request_page
    expected_reject = {200: 302, 403: 403, 404: 404}[approve_page]
    assert client.post(f"/grants/{grant.pk}/reject/", {"note": "nē"}).status_code == (
        expected_reject
    )
    grant.refresh_from_db()
    assert (grant.status == Grant.Status.REJECTED) == (approve_page == 200)


def test_recipient_requests_with_checkboxes_and_a_condition(client, w):
    client.force_login(w.recipient_rep)
    page = client.get(f"/grants/request/?dataset={w.dataset.code}").content.decode()
    assert 'name="fields_" value="board_members.role"' in page
    assert 'for="id_c0-field"' in page  # every condition input is labelled
    response = client.post(
        f"/grants/request/?dataset={w.dataset.code}",
        {
            "recipient": w.recipient.pk,
            "fields_": ["personal_code", "birth_date"],
            "c0-field": "birth_date", "c0-op": "older_than", "c0-value": "18", "c0-unit": "years",
            "c1-field": "children", "c1-op": "between", "c1-value": "1", "c1-value_to": "3",
            "c1-unit": "years",
            "legal_basis": "Likums", "purpose": "Pabalsti",
        },
    )  # fmt: skip
    grant = Grant.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/grants/{grant.pk}/"
    assert grant.requested_fields == ["personal_code", "birth_date"]
    assert grant.requested_conditions == [
        {"field": "birth_date", "op": "older_than", "value": {"years": 18}},
        {"field": "children", "op": "between", "value": [1, 3]},
    ]
    detail = client.get(response["Location"]).content.decode()
    assert "Dzimšanas datums" in detail


def test_bad_condition_is_a_form_error_not_a_500(client, w):
    client.force_login(w.recipient_rep)
    response = client.post(
        f"/grants/request/?dataset={w.dataset.code}",
        {
            "recipient": w.recipient.pk, "fields_": ["name"],
            "c0-field": "children", "c0-op": "gt", "c0-value": "daudz", "c0-unit": "years",
            "legal_basis": "Likums", "purpose": "Pabalsti",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Grant.objects.exists()


def test_unknown_or_sandbox_dataset_is_404(client, w):
    client.force_login(w.recipient_rep)
    assert client.get("/grants/request/?dataset=nope").status_code == 404
    chooser = client.get("/grants/request/").content.decode()
    assert w.dataset.code in chooser


def test_provider_approves_narrowed(client, w):
    grant = make_request(w)
    client.force_login(w.provider_rep)
    response = client.post(
        f"/grants/{grant.pk}/approve/",
        {
            "fields_": ["personal_code"], "permission_number": "ATL-77",
            "valid_from": "2026-01-01", "valid_until": "", "quota": "100",
            "c0-field": "resident", "c0-op": "eq", "c0-value": "jā", "c0-unit": "years",
            "note": "",
        },
    )  # fmt: skip
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == Grant.Status.APPROVED and grant.fields == ["personal_code"]
    assert grant.conditions[-1] == {"field": "resident", "op": "eq", "value": True}
    client.force_login(w.recipient_rep)
    listing = client.get("/grants/").content.decode()
    assert "ATL-77" in listing
    detail = client.get(f"/grants/{grant.pk}/").content.decode()
    assert "pievienojis datu devējs" in detail  # "added by the provider", in Latvian


def test_recipient_withdraws_and_sees_both_languages(client, w):
    grant = make_approved(w)
    client.force_login(w.recipient_rep)
    lv = client.get("/grants/").content.decode()
    assert "Piekļuves atļaujas" in lv
    client.cookies["dagr_language"] = "en"
    en = client.get("/grants/").content.decode()
    assert "Access grants" in en
    confirm = client.get(f"/grants/{grant.pk}/revoke/")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    assert f'href="/grants/{grant.pk}/"' in confirm.content.decode()
    one_click = client.post(f"/grants/{grant.pk}/revoke/", {"note": "vairs nav vajadzīgs"})
    assert one_click.status_code == 200
    grant.refresh_from_db()
    assert grant.status == Grant.Status.APPROVED
    response = client.post(
        f"/grants/{grant.pk}/revoke/", {"note": "vairs nav vajadzīgs", "confirm": "yes"}
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == Grant.Status.REVOKED
    follow = client.get(f"/grants/{grant.pk}/").content.decode()
    assert "revoked" in follow


def test_only_the_recipient_withdraws_a_request_the_provider_rejects_it(client, w):
    grant = make_request(w)
    client.force_login(w.provider_rep)
    html = client.get(f"/grants/{grant.pk}/").content.decode()
    assert f"/grants/{grant.pk}/reject/" in html or "Noraidīt" in html
    assert f"/grants/{grant.pk}/revoke/" not in html and "Atsaukt pieprasījumu" not in html
    assert client.get(f"/grants/{grant.pk}/revoke/")["Location"] == f"/grants/{grant.pk}/"
    response = client.post(f"/grants/{grant.pk}/revoke/", {"confirm": "yes"})
    assert response.status_code in (302, 403, 404)
    grant.refresh_from_db()
    assert grant.status == Grant.Status.REQUESTED
    with pytest.raises(PermissionDenied):
        grant_revoke(actor=w.provider_rep, grant=grant)
    client.force_login(w.recipient_rep)
    html = client.get(f"/grants/{grant.pk}/").content.decode()
    assert f"/grants/{grant.pk}/revoke/" in html
