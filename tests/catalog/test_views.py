"""Catalogue pages: who may open what, and what they show."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dagr.accounts.models import Institution, Membership
from dagr.catalog import services
from dagr.catalog.models import Dataset
from dagr.catalog.schema import parse_schema
from dagr.catalog.views import example_schema_yaml
from tests.factories import PERSON_SCHEMA, make_admin, make_dataset, make_institution, make_user

pytestmark = pytest.mark.django_db
P = Membership.Role.PROVIDER

NESTED = {
    "key": "reg_no",
    "fields": [
        {
            "name": "reg_no",
            "title_lv": "Reģistrācijas numurs",
            "title_en": "Registration number",
            "type": "string",
            "required": True,
            "identifier": "company_code",
        },
        {
            "name": "address",
            "title_lv": "Adreses kods",
            "title_en": "Address code",
            "type": "string",
            "identifier": "address_code",
        },
        {
            "name": "board",
            "title_lv": "Valde",
            "title_en": "Board",
            "type": "list",
            "fields": [
                {
                    "name": "personal_code",
                    "title_lv": "Personas kods",
                    "title_en": "Personal code",
                    "type": "string",
                    "personal": True,
                    "identifier": "personal_code",
                }
            ],
        },
    ],
}


@pytest.fixture
def world() -> dict[str, Any]:
    provider = make_institution(name="Uzņēmumu reģistrs", kind=Institution.Kind.PROVIDER)
    other = make_institution(name="Cita iestāde", kind=Institution.Kind.PROVIDER)
    return {
        "provider": provider,
        "rep": make_user(institution=provider, roles=(P,)),
        "outsider": make_user(institution=other, roles=(P,)),
        "recipient": make_user(
            institution=make_institution(kind=Institution.Kind.RECIPIENT),
            roles=(Membership.Role.RECIPIENT,),
        ),
        "admin": make_admin(),
        "public": make_dataset(
            provider=provider,
            code="companies",
            schema=NESTED,
            status="production",
            title_lv="Uzņēmumi",
            title_en="Companies",
            description_lv="Latviski apraksts",
            description_en="English description",
        ),
        "sandbox": make_dataset(provider=provider, code="draft-persons", title_en="Draft persons"),
    }


@pytest.fixture(autouse=True)
def english_pages(client: Any) -> None:
    """Pages in English unless a test asks for Latvian (the default language)."""
    client.cookies["dagr_language"] = "en"


def url(name: str, *args: Any) -> str:
    return reverse(f"catalog:{name}", args=args)


def as_user(client: Any, user: Any) -> Any:
    if user is not None:
        client.force_login(user)
    return client


# --- the permission matrix ---------------------------------------------------------------------

PAGES = [
    "index",
    "dataset:public",
    "dataset:sandbox",
    "yaml:sandbox",
    "manage:public",
    "manage:sandbox",
    "create",
]
EXPECTED = {
    #            index dataset:pub dataset:sb yaml:sb manage:pub manage:sb create
    "anonymous": (200, 200, 404, 404, 302, 302, 302),
    "recipient": (200, 200, 404, 404, 403, 404, 403),
    "outsider": (200, 200, 404, 404, 403, 404, 200),
    "rep": (200, 200, 200, 200, 200, 200, 200),
    "admin": (200, 200, 200, 200, 200, 200, 200),
}


def page_url(page: str, world: dict[str, Any]) -> str:
    name, _, which = page.partition(":")
    if name == "index":
        return url("index")
    if name == "create":
        return url("dataset_create")
    code = world[which].code
    return url({"yaml": "dataset_schema_yaml", "manage": "dataset_manage"}.get(name, name), code)


@pytest.mark.parametrize("who", list(EXPECTED))
def test_permission_matrix(client, world, who):
    as_user(client, None if who == "anonymous" else world[who])
    got = tuple(client.get(page_url(page, world)).status_code for page in PAGES)
    assert got == EXPECTED[who]


def test_anonymous_is_sent_to_login_from_manage_pages(client, world):
    response = client.get(url("dataset_manage", "companies"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", ["dataset_metadata", "dataset_schema", "dataset_status"])
def test_an_outsider_cannot_post_to_manage_actions(client, world, name):
    as_user(client, world["outsider"])
    data = {"status": "retired", "confirm": "yes"}
    assert client.post(url(name, "companies"), data).status_code == 403
    assert client.post(url(name, "draft-persons"), data).status_code == 404
    assert Dataset.objects.get(code="companies").status == "production"


def test_retiring_asks_first(client, world):
    as_user(client, world["rep"])
    confirm = client.get(url("dataset_status", "companies"))
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "administrator" in html and 'name="status" value="retired"' in html
    assert f'href="{url("dataset_manage", "companies")}"' in html
    manage = client.get(url("dataset_manage", "companies")).content.decode()
    assert f'href="{url("dataset_status", "companies")}"' in manage
    one_click = client.post(url("dataset_status", "companies"), {"status": "retired"})
    assert one_click.status_code == 200
    assert Dataset.objects.get(code="companies").status == "production"
    done = client.post(url("dataset_status", "companies"), {"status": "retired", "confirm": "yes"})
    assert done.status_code == 302
    assert Dataset.objects.get(code="companies").status == "retired"


# --- public pages ------------------------------------------------------------------------------


def test_the_catalogue_groups_public_datasets_by_provider(client, world):
    page = client.get(url("index")).content.decode()
    assert "Uzņēmumu reģistrs" in page
    assert url("dataset", "companies") in page
    assert "draft-persons" not in page
    assert 'aria-current="page"' in page  # breadcrumbs


def test_providers_see_their_sandbox_in_the_catalogue(client, world):
    as_user(client, world["rep"])
    assert "draft-persons" in client.get(url("index")).content.decode()


def test_catalogue_search_and_provider_filter(client, world):
    other = make_dataset(
        provider=make_institution(name="Zemesgrāmata", kind=Institution.Kind.PROVIDER),
        code="land",
        status="production",
        title_lv="Zeme",
        title_en="Land",
    )
    page = client.get(url("index"), {"q": "compan"}).content.decode()
    assert "companies" in page and url("dataset", "land") not in page
    page = client.get(url("index"), {"q": "Zeme"}).content.decode()
    assert url("dataset", "land") in page and url("dataset", "companies") not in page
    page = client.get(url("index"), {"provider": other.provider_id}).content.decode()
    assert url("dataset", "land") in page and url("dataset", "companies") not in page
    page = client.get(url("index"), {"q": "nothing-like-this", "provider": "x"}).content.decode()
    assert "No datasets match the search." in page


def test_the_documentation_page_shows_schema_identifiers_and_marks(client, world):
    client.cookies["dagr_language"] = "en"
    page = client.get(url("dataset", "companies")).content.decode()
    assert "<h1>Companies</h1>" in page
    assert "English description" in page
    assert "Uzņēmumu reģistrs" in page
    assert "production" in page
    # identifiers (DU-11) with their kinds, nested ones by path
    assert "company registration number" in page
    assert "address code" in page
    assert "<code>board.personal_code</code>" in page
    assert "depth-1" in page  # the nested field is indented
    assert "personal data" in page and "required" in page
    assert "schema version 1" in page
    assert url("dataset_schema_yaml", "companies") in page
    assert url("dataset_manage", "companies") not in page  # no manage link for the public


def test_the_documentation_page_in_latvian_and_english(client, world):
    del client.cookies["dagr_language"]  # no choice made: Latvian, the default
    lv = client.get(url("dataset", "companies"))
    html = lv.content.decode()
    assert 'lang="lv"' in html
    assert "<h1>Uzņēmumi</h1>" in html and "Latviski apraksts" in html
    assert "Objektu identifikatori" in html
    client.cookies["dagr_language"] = "en"
    en = client.get(url("dataset", "companies")).content.decode()
    assert 'lang="en"' in en
    assert "<h1>Companies</h1>" in en and "Object identifiers" in en


def test_the_manage_link_is_shown_to_those_who_may_edit(client, world):
    as_user(client, world["rep"])
    assert (
        url("dataset_manage", "companies")
        in client.get(url("dataset", "companies")).content.decode()
    )


def test_yaml_download_of_current_and_earlier_versions(client, world):
    ds = world["public"]
    new = parse_schema(NESTED).as_document()
    new["fields"][1]["title_en"] = "Address"
    services.dataset_schema_update(actor=world["admin"], dataset=ds, schema=new)
    response = client.get(url("dataset_schema_yaml", "companies"))
    assert response["Content-Type"].startswith("application/yaml")
    assert 'filename="companies-v2.yaml"' in response["Content-Disposition"]
    assert "title_en: Address\n" in response.content.decode()
    old = client.get(url("dataset_schema_yaml", "companies"), {"version": "1"})
    assert "title_en: Address code" in old.content.decode()
    assert client.get(url("dataset_schema_yaml", "companies"), {"version": "9"}).status_code == 404


# --- defining a dataset ------------------------------------------------------------------------


def test_the_create_page_offers_only_own_institutions_and_an_example(client, world):
    as_user(client, world["rep"])
    page = client.get(url("dataset_create")).content.decode()
    assert "Uzņēmumu reģistrs" in page and "Cita iestāde" not in page
    assert "key: personal_code" in page


@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_documented_example_schema_is_valid(language):
    from django.utils import translation

    with translation.override(language):
        text = example_schema_yaml()
    schema = services.schema_parse_yaml(text)
    assert len(schema.identifier_paths()) == 3
    assert text.count("# ") >= 5


def create_data(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "provider": world["provider"].pk,
        "code": "vehicles",
        "title_lv": "Transportlīdzekļi",
        "title_en": "Vehicles",
        "schema_yaml": services.schema_to_yaml(PERSON_SCHEMA),
    } | extra


def test_defining_a_dataset(client, world):
    as_user(client, world["rep"])
    response = client.post(url("dataset_create"), create_data(world))
    assert response.status_code == 302
    assert response["Location"] == url("dataset_manage", "vehicles")
    ds = Dataset.objects.get(code="vehicles")
    assert ds.provider == world["provider"] and ds.status == "sandbox" and ds.schema.number == 1


def test_defining_a_dataset_from_an_uploaded_file(client, world):
    as_user(client, world["rep"])
    upload = SimpleUploadedFile(
        "schema.yaml", services.schema_to_yaml(NESTED).encode(), "application/yaml"
    )
    response = client.post(
        url("dataset_create"), create_data(world, schema_yaml="", schema_file=upload)
    )
    assert response.status_code == 302
    assert parse_schema(Dataset.objects.get(code="vehicles").schema.definition).key == "reg_no"


def test_defining_for_another_institution_is_refused(client, world):
    as_user(client, world["outsider"])
    response = client.post(url("dataset_create"), create_data(world))
    assert response.status_code == 422
    assert not Dataset.objects.filter(code="vehicles").exists()


def test_bad_yaml_is_shown_next_to_the_editor_with_its_line(client, world):
    as_user(client, world["rep"])
    bad = "key: id\nfields:\n  - name: id\n    title_lv: [unclosed\n"
    response = client.post(url("dataset_create"), create_data(world, schema_yaml=bad))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="schema-errors"' in html
    assert "line 5, column 1" in html
    assert "[unclosed" in html  # the text is kept for correction
    assert not Dataset.objects.filter(code="vehicles").exists()


def test_schema_errors_are_shown_with_location(client, world):
    as_user(client, world["rep"])
    text = services.schema_to_yaml(PERSON_SCHEMA).replace("type: date", "type: when")
    response = client.post(url("dataset_create"), create_data(world, schema_yaml=text))
    html = response.content.decode()
    assert response.status_code == 422
    assert "<code>fields.2.type</code>" in html
    line = text.splitlines().index("  type: when") + 1
    assert f"line {line}" in html


def test_code_errors_are_shown_on_the_code_field(client, world):
    as_user(client, world["rep"])
    response = client.post(url("dataset_create"), create_data(world, code="companies"))
    assert response.status_code == 422
    assert "already exists" in response.content.decode()


def test_upload_of_a_wrong_file_type(client, world):
    as_user(client, world["rep"])
    upload = SimpleUploadedFile("schema.txt", b"key: x", "text/plain")
    response = client.post(url("dataset_create"), create_data(world, schema_file=upload))
    assert response.status_code == 422
    assert ".yaml" in response.content.decode()


# --- managing a dataset ------------------------------------------------------------------------


def test_the_manage_page_shows_editor_history_and_allowed_status_buttons(client, world):
    as_user(client, world["rep"])
    html = client.get(url("dataset_manage", "draft-persons")).content.decode()
    assert "key: personal_code" in html  # the editor holds the current YAML
    assert f'href="{url("dataset_status", "draft-persons")}"' in html  # retire: asks first
    assert 'value="production"' not in html  # a provider cannot promote
    client.force_login(world["admin"])
    html = client.get(url("dataset_manage", "draft-persons")).content.decode()
    assert 'value="production"' in html


def test_editing_metadata(client, world):
    as_user(client, world["rep"])
    data = {"title_lv": "Jauns", "title_en": "New", "description_lv": "", "description_en": "x"}
    response = client.post(url("dataset_metadata", "draft-persons"), data)
    assert response.status_code == 302
    assert Dataset.objects.get(code="draft-persons").title_en == "New"
    response = client.post(url("dataset_metadata", "draft-persons"), data | {"title_lv": ""})
    assert response.status_code == 422


def test_schema_preview_lists_changes_without_saving(client, world):
    as_user(client, world["rep"])
    text = services.schema_to_yaml(PERSON_SCHEMA).replace(
        "  type: date\n", "  type: date\n  required: true\n"
    )
    response = client.post(
        url("dataset_schema", "draft-persons"), {"schema_yaml": text, "action": "preview"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="schema-preview"' in html
    assert "field birth_date is now required" in html
    assert 'id="preview-table"' in html
    assert Dataset.objects.get(code="draft-persons").schema.number == 1


def test_saving_a_schema_and_the_version_history(client, world):
    as_user(client, world["rep"])
    text = services.schema_to_yaml(PERSON_SCHEMA) + (
        "- name: nickname\n  title_lv: Iesauka\n  title_en: Nickname\n  type: string\n"
    )
    response = client.post(
        url("dataset_schema", "draft-persons"),
        {"schema_yaml": text, "note": "iesauka", "action": "save"},
    )
    assert response.status_code == 302
    assert Dataset.objects.get(code="draft-persons").schema.number == 2
    html = client.get(url("dataset_manage", "draft-persons")).content.decode()
    assert "field nickname added" in html and "iesauka" in html
    assert "?version=2" in html and "?version=1" in html
    again = client.post(
        url("dataset_schema", "draft-persons"), {"schema_yaml": text, "action": "save"}
    )
    assert again.status_code == 302
    assert Dataset.objects.get(code="draft-persons").schema.number == 2


def test_invalid_schema_in_the_editor_is_a_422_not_a_500(client, world):
    as_user(client, world["rep"])
    response = client.post(
        url("dataset_schema", "draft-persons"), {"schema_yaml": "key: [", "action": "save"}
    )
    assert response.status_code == 422
    assert 'id="schema-errors"' in response.content.decode()


def test_status_buttons(client, world):
    as_user(client, world["rep"])
    response = client.post(url("dataset_status", "draft-persons"), {"status": "production"})
    assert response.status_code == 403
    response = client.post(
        url("dataset_status", "draft-persons"), {"status": "retired", "confirm": "yes"}
    )
    assert response.status_code == 302
    assert Dataset.objects.get(code="draft-persons").status == "retired"
    client.force_login(world["admin"])
    response = client.post(
        url("dataset_status", "draft-persons"), {"status": "production"}, follow=True
    )
    assert Dataset.objects.get(code="draft-persons").status == "retired"
    assert "message-error" in response.content.decode()


def test_the_manage_page_in_latvian(client, world):
    del client.cookies["dagr_language"]
    as_user(client, world["admin"])
    html = client.get(url("dataset_manage", "draft-persons")).content.decode()
    assert 'lang="lv"' in html
    assert "Versiju vēsture" in html and "Nodot produkcijā" in html
    assert "smilškaste" in html


def test_yaml_errors_are_explained_in_latvian(client, world):
    del client.cookies["dagr_language"]
    as_user(client, world["rep"])
    text = services.schema_to_yaml(PERSON_SCHEMA).replace("type: date", "type: when")
    html = client.post(
        url("dataset_schema", "draft-persons"), {"schema_yaml": text, "action": "save"}
    ).content.decode()
    assert "Shēmā ir kļūdas" in html and "jābūt vienam no" in html and ". rinda" in html


def test_help_texts_are_linked_to_their_inputs(client, world):
    as_user(client, world["rep"])
    html = client.get(url("dataset_create")).content.decode()
    assert 'id="id_code_helptext"' in html and 'aria-describedby="id_code_helptext"' in html
