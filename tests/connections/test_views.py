import pytest

from dagr.accounts.models import Institution, Membership
from dagr.connections.models import Connection
from dagr.connections.services import connection_create
from tests.factories import make_institution, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    inst = make_institution(kind=Institution.Kind.RECIPIENT)
    rep = make_user(institution=inst, roles=(Membership.Role.RECIPIENT,))
    conn, _ = connection_create(actor=rep, institution=inst, name="Sistēma", kind="recipient")
    return inst, rep, conn


def login(client, user):
    client.force_login(user)


def test_anonymous_is_sent_to_login(client, setup):
    _inst, _rep, conn = setup
    for url in ("/connections/", "/connections/new/", f"/connections/{conn.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(f"/connections/{conn.pk}/revoke/").status_code == 302
    conn.refresh_from_db()
    assert conn.status == Connection.Status.ACTIVE


def test_other_institution_sees_404_and_cannot_revoke(client, setup):
    _inst, _rep, conn = setup
    other = make_institution(kind=Institution.Kind.RECIPIENT)
    login(client, make_user(institution=other, roles=(Membership.Role.RECIPIENT,)))
    assert client.get(f"/connections/{conn.pk}/").status_code == 404
    assert client.post(f"/connections/{conn.pk}/revoke/", {"confirm": "yes"}).status_code == 404
    assert client.get(f"/connections/{conn.pk}/revoke/").status_code == 404
    assert conn.name not in client.get("/connections/").content.decode()
    conn.refresh_from_db()
    assert conn.status == Connection.Status.ACTIVE


def test_create_shows_secret_once_then_revoke(client, setup):
    inst, rep, _conn = setup
    login(client, rep)
    response = client.post(
        "/connections/new/",
        {"institution": inst.pk, "name": "Jaunā sistēma", "kind": "recipient",
         "auth_method": "client_secret", "token_lifetime_s": 600},
    )  # fmt: skip
    assert response.status_code == 200
    created = Connection.objects.get(name="Jaunā sistēma")
    page = response.content.decode()
    assert created.client_id in page and 'id="client-secret"' in page
    detail = client.get(f"/connections/{created.pk}/").content.decode()
    assert 'id="client-secret"' not in detail
    confirm = client.get(f"/connections/{created.pk}/revoke/")
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Jaunā sistēma" in page
    assert "nevar atsaukt" in page and f'href="/connections/{created.pk}/"' in page
    # the old one-click POST (no confirmation) revokes nothing
    assert client.post(f"/connections/{created.pk}/revoke/").status_code == 200
    created.refresh_from_db()
    assert created.status == Connection.Status.ACTIVE
    client.post(f"/connections/{created.pk}/revoke/", {"confirm": "yes"})
    created.refresh_from_db()
    assert created.status == Connection.Status.REVOKED


def test_certificate_method_without_certificate_is_a_form_error(client, setup):
    inst, rep, _conn = setup
    login(client, rep)
    response = client.post(
        "/connections/new/",
        {"institution": inst.pk, "name": "X", "kind": "recipient",
         "auth_method": "private_key_jwt", "token_lifetime_s": 600},
    )  # fmt: skip
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Connection.objects.filter(name="X").exists()


def test_new_connection_offers_and_defaults_to_the_kind_the_role_allows(client, setup):
    _inst, rep, _conn = setup
    login(client, rep)
    response = client.get("/connections/new/")
    kind = response.context["form"]["kind"]
    assert [value for value, _label in kind.field.choices] == ["recipient"]
    assert kind.value() == "recipient"
    html = response.content.decode()
    assert 'value="provider"' not in html and 'value="recipient" selected' in html
    # the institution list's empty choice is in Latvian, not Django's "- Select an option -"
    assert "Select an option" not in html and '<option value="" selected>— izvēlieties —' in html


def test_a_kind_the_institution_cannot_have_is_shown_at_the_kind_field(client):
    inst = make_institution(kind=Institution.Kind.RECIPIENT)
    admin = make_user(institution=inst, is_portal_admin=True)
    login(client, admin)
    response = client.post(
        "/connections/new/",
        {"institution": inst.pk, "name": "Cita", "kind": "provider",
         "auth_method": "client_secret", "token_lifetime_s": 600},
    )  # fmt: skip
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors.get("kind") and not form.non_field_errors()
    assert not Connection.objects.filter(name="Cita").exists()
