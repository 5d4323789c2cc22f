"""The metadata form (access, lv/en, save, validation as you type and on submit), templates,
publishing, the DCAT-AP catalogue endpoints and content negotiation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from dagr.accounts.models import Membership
from dagr.audit.models import AdminEntry
from dagr.core.actors import SYSTEM
from dagr.opendata import selectors, services, validation
from dagr.opendata.models import TEMPLATE_FIELDS, DatasetMetadata, MetadataTemplate
from tests.factories import make_admin, make_dataset, make_institution, make_user

from .conftest import EU, complete_values

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")

pytestmark = pytest.mark.django_db

PROVIDER = Membership.Role.PROVIDER


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world() -> Any:
    class W:
        pass

    w = W()
    w.inst = make_institution(name="Paraugu iestāde")
    w.other_inst = make_institution(name="Cita iestāde")
    w.user = make_user(institution=w.inst, roles=(PROVIDER,))
    w.stranger = make_user(institution=w.other_inst, roles=(PROVIDER,))
    w.ds = make_dataset(
        provider=w.inst,
        code="iedzivotaji",
        status="production",
        description_lv="Iedzīvotāju reģistrs",
        description_en="Population register",
    )
    return w


def form_data(ds: Any, **over: Any) -> dict[str, Any]:
    values = complete_values()
    data: dict[str, Any] = {
        "title_lv": ds.title_lv,
        "title_en": ds.title_en,
        "description_lv": ds.description_lv,
        "description_en": ds.description_en,
        "keywords_lv": ", ".join(values["keywords_lv"]),
        "keywords_en": ", ".join(values["keywords_en"]),
        "temporal_start": "2020-01-01",
        "temporal_end": "",
        "conforms_to": "",
    }
    for name in [*TEMPLATE_FIELDS, "rights_lv", "rights_en", "distribution_status"]:
        if name != "conforms_to":
            data[name] = values[name]
    data.update(over)
    return data


# --- access ------------------------------------------------------------------------------------


def test_signed_out_visitor_is_sent_to_login(world: Any) -> None:
    response = Client().get(f"/open-data/datasets/{world.ds.code}/")
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    response = Client().post(f"/open-data/datasets/{world.ds.code}/validate/", {})
    assert response.status_code in (302, 401)


def test_another_institutions_provider_gets_403_and_invisible_dataset_404(world: Any) -> None:
    client = login(world.stranger)
    assert client.get(f"/open-data/datasets/{world.ds.code}/").status_code == 403
    assert client.post(f"/open-data/datasets/{world.ds.code}/validate/", {}).status_code == 403
    assert client.post(f"/open-data/datasets/{world.ds.code}/publish/").status_code == 403
    hidden = make_dataset(provider=world.inst, status="sandbox")
    assert client.get(f"/open-data/datasets/{hidden.code}/").status_code == 404


def test_recipient_of_the_same_institution_gets_403(world: Any) -> None:
    recipient = make_user(institution=world.inst, roles=(Membership.Role.RECIPIENT,))
    assert login(recipient).get(f"/open-data/datasets/{world.ds.code}/").status_code == 403


def test_others_cannot_see_or_change_an_institutions_template(world: Any) -> None:
    template = services.template_create(
        actor=world.user, institution=world.inst, name="Mūsu veidne", **_template_values()
    )
    client = login(world.stranger)
    assert client.get(f"/open-data/templates/{template.pk}/").status_code == 404
    assert (
        client.post(f"/open-data/templates/{template.pk}/delete/", {"confirm": "yes"}).status_code
        == 404
    )
    assert MetadataTemplate.objects.filter(pk=template.pk).exists()
    page = client.get("/open-data/templates/").content.decode()
    assert "Mūsu veidne" not in page


# --- the form ----------------------------------------------------------------------------------


def test_form_shows_latvian_and_english_side_by_side(world: Any) -> None:
    client = login(world.user)
    page = client.get(f"/open-data/datasets/{world.ds.code}/", HTTP_ACCEPT_LANGUAGE="lv")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Atvērto datu apraksts" in text and 'name="keywords_lv"' in text
    assert 'name="keywords_en"' in text and 'class="od-pair"' in text
    client.post("/i18n/setlang/", {"language": "en"})
    text = client.get(f"/open-data/datasets/{world.ds.code}/").content.decode()
    assert "Open data description" in text


def test_save_writes_metadata_audit_and_the_catalogues_texts(world: Any) -> None:
    client = login(world.user)
    data = form_data(world.ds, title_en="Population (renamed)")
    response = client.post(f"/open-data/datasets/{world.ds.code}/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    meta = DatasetMetadata.objects.get(dataset=world.ds)
    assert meta.keywords_lv == ["iedzīvotāji"] and meta.themes == [f"{EU}data-theme/SOCI"]
    world.ds.refresh_from_db()
    assert world.ds.title_en == "Population (renamed)"
    assert AdminEntry.objects.filter(action="opendata.metadata.updated").exists()


def test_submit_without_js_shows_violation_next_to_the_field(world: Any) -> None:
    client = login(world.user)
    data = form_data(world.ds, description_lv="", description_en="")
    client.post(f"/open-data/datasets/{world.ds.code}/", data)
    text = client.get(f"/open-data/datasets/{world.ds.code}/").content.decode()
    start = text.index('id="check-description_lv"')
    assert "Required: fill in the description." in text[start : start + 400] or (
        "Obligāti" in text[start : start + 400]
    )


def test_value_outside_the_vocabulary_is_refused(world: Any) -> None:
    client = login(world.user)
    data = form_data(world.ds, licence="https://example.com/my-licence")
    response = client.post(f"/open-data/datasets/{world.ds.code}/", data)
    assert response.status_code == 422
    assert not DatasetMetadata.objects.filter(dataset=world.ds).exists()


def test_validate_endpoint_answers_findings_per_field_and_saves_nothing(world: Any) -> None:
    client = login(world.user)
    data = form_data(world.ds, description_lv="", description_en="", keywords_lv="", keywords_en="")
    answer = client.post(f"/open-data/datasets/{world.ds.code}/validate/", data).json()
    assert answer["publishable"] is False
    assert any(i["severity"] == "violation" for i in answer["fields"]["description_lv"])
    assert any(i["severity"] == "warning" for i in answer["fields"]["keywords_lv"])
    assert not DatasetMetadata.objects.filter(dataset=world.ds).exists()
    good = client.post(f"/open-data/datasets/{world.ds.code}/validate/", form_data(world.ds))
    assert good.json()["publishable"] is True
    assert good.json()["score"]["maximum"] == 405


# --- templates ---------------------------------------------------------------------------------


def _template_values() -> dict[str, Any]:
    values = complete_values()
    return {k: values[k] for k in TEMPLATE_FIELDS}


def test_template_is_created_applied_then_overridden(world: Any) -> None:
    client = login(world.user)
    data = {"name": "Reģistru veidne", "institution": str(world.inst.pk), **_template_values()}
    data["conforms_to"] = "https://www.w3.org/TR/vocab-dcat-3/"
    assert client.post("/open-data/templates/", data).status_code == 302
    template = MetadataTemplate.objects.get(name="Reģistru veidne")
    assert template.institution == world.inst
    response = client.post(
        f"/open-data/datasets/{world.ds.code}/apply-template/", {"template": template.pk}
    )
    assert response.status_code == 302
    meta = DatasetMetadata.objects.get(dataset=world.ds)
    assert meta.licence == f"{EU}licence/CC_BY_4_0" and meta.template == template
    assert meta.conforms_to == ["https://www.w3.org/TR/vocab-dcat-3/"]
    services.metadata_update(actor=world.user, dataset=world.ds, licence=f"{EU}licence/CC0")
    meta.refresh_from_db()
    assert meta.licence == f"{EU}licence/CC0" and meta.frequency == f"{EU}frequency/DAILY"


def test_provider_cannot_make_a_global_template_but_admin_can(world: Any) -> None:
    data = {"name": "Globāla", "institution": "", **_template_values()}
    assert login(world.user).post("/open-data/templates/", data).status_code == 422
    assert login(make_admin()).post("/open-data/templates/", data).status_code == 302
    assert MetadataTemplate.objects.get(name="Globāla").institution is None


def test_other_institutions_template_cannot_be_applied(world: Any) -> None:
    template = services.template_create(
        actor=world.stranger, institution=world.other_inst, name="Sveša", **_template_values()
    )
    login(world.user).post(
        f"/open-data/datasets/{world.ds.code}/apply-template/", {"template": template.pk}
    )
    assert not DatasetMetadata.objects.filter(dataset=world.ds, template=template).exists()


# --- publishing and the catalogue --------------------------------------------------------------


def test_violations_block_publishing(world: Any) -> None:
    world.ds.description_lv = world.ds.description_en = ""
    world.ds.save()
    client = login(world.user)
    client.post(f"/open-data/datasets/{world.ds.code}/publish/")
    assert not DatasetMetadata.objects.filter(dataset=world.ds, published=True).exists()


def _publish(ds: Any) -> None:
    services.metadata_update(actor=SYSTEM, dataset=ds, **complete_values())
    services.metadata_publish(actor=SYSTEM, dataset=ds)


def test_catalog_in_three_formats_with_language_tags(world: Any) -> None:
    _publish(world.ds)
    client = Client()
    iri = URIRef(selectors.dataset_iri(world.ds))
    for path, fmt, media in (
        ("/catalog.ttl", "turtle", "text/turtle"),
        ("/catalog.jsonld", "json-ld", "application/ld+json"),
        ("/catalog.rdf", "xml", "application/rdf+xml"),
    ):
        response = client.get(path)
        assert response.status_code == 200 and response["Content-Type"].startswith(media)
        g = Graph().parse(data=response.content, format=fmt)
        assert (iri, RDF.type, DCAT.Dataset) in g
        assert {t.language for t in g.objects(iri, DCTERMS.title)} == {"lv", "en"}
        assert list(g.subjects(RDF.type, DCAT.Catalog))


def test_catalog_pages_and_modified_since(world: Any) -> None:
    for n in range(3):
        _publish(
            make_dataset(
                provider=world.inst,
                status="production",
                description_lv="A",
                description_en="A",
                code=f"kopa-{n}",
            )
        )
    g = Graph().parse(data=Client().get("/catalog.ttl").content, format="turtle")
    view = next(g.subjects(RDF.type, HYDRA.PartialCollectionView))
    assert int(g.value(view, HYDRA.totalItems)) == 3
    future = Client().get("/catalog.ttl?modified_since=2999-01-01")
    g2 = Graph().parse(data=future.content, format="turtle")
    assert not list(g2.subjects(RDF.type, DCAT.Dataset))
    assert Client().get("/catalog.ttl?modified_since=yesterday").status_code == 400


def test_unpublished_dataset_is_not_in_the_catalog(world: Any) -> None:
    services.metadata_update(actor=SYSTEM, dataset=world.ds, **complete_values())
    g = Graph().parse(data=Client().get("/catalog.ttl").content, format="turtle")
    assert not list(g.subjects(RDF.type, DCAT.Dataset))


def test_a_retired_dataset_leaves_the_catalog(world: Any) -> None:
    from dagr.catalog.services import dataset_set_status

    _publish(world.ds)
    iri = URIRef(selectors.dataset_iri(world.ds))
    for fmt, name in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")):
        g = Graph().parse(data=Client().get(f"/catalog.{fmt}").content, format=name)
        assert (iri, RDF.type, DCAT.Dataset) in g
    dataset_set_status(actor=SYSTEM, dataset=world.ds, status="retired")
    assert not selectors.dataset_in_open_catalog(world.ds)
    for fmt, name in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")):
        g = Graph().parse(data=Client().get(f"/catalog.{fmt}").content, format=name)
        assert not list(g.subjects(RDF.type, DCAT.Dataset))
        view = next(g.subjects(RDF.type, HYDRA.PartialCollectionView))
        assert int(g.value(view, HYDRA.totalItems)) == 0


def test_content_negotiation_on_the_dataset_page(world: Any) -> None:
    services.metadata_update(actor=SYSTEM, dataset=world.ds, **complete_values())
    client = Client()
    html = client.get(f"/catalog/{world.ds.code}/", HTTP_ACCEPT="text/html")
    assert html["Content-Type"].startswith("text/html") and html["Vary"]
    ttl = client.get(f"/catalog/{world.ds.code}/", HTTP_ACCEPT="text/turtle")
    assert ttl["Content-Type"].startswith("text/turtle")
    g = Graph().parse(data=ttl.content, format="turtle")
    assert (URIRef(selectors.dataset_iri(world.ds)), RDF.type, DCAT.Dataset) in g
    jsonld = client.get(f"/catalog/{world.ds.code}/", HTTP_ACCEPT="application/ld+json")
    assert json.loads(jsonld.content)
    hidden = make_dataset(provider=world.inst, status="sandbox")
    assert client.get(f"/catalog/{hidden.code}/", HTTP_ACCEPT="text/turtle").status_code == 404


def test_whole_catalog_validates_with_zero_violations(world: Any) -> None:
    _publish(world.ds)
    public = make_dataset(
        provider=world.inst, status="production", description_lv="A", description_en="A"
    )
    services.metadata_update(
        actor=SYSTEM, dataset=public, **complete_values(access_rights=f"{EU}access-right/PUBLIC")
    )
    services.metadata_publish(actor=SYSTEM, dataset=public)  # with the public export
    for fmt, name in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")):
        g = Graph().parse(data=Client().get(f"/catalog.{fmt}").content, format=name)
        assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 2
        assert any(str(s).endswith("#distribution-export-csv") for s in g.subjects())
        report = validation.validate_one(g, digest=f"catalog.{fmt}")
        assert report.violations == [], fmt


# --- the public data export of open datasets --------------------------------------------------


def test_the_data_export_is_public_for_open_datasets_with_public_access_only(world: Any) -> None:
    from dagr.core.identifiers import make_new_personal_code
    from dagr.records import services as records

    ds = make_dataset(
        provider=world.inst,
        code="atverti-dati",
        status="production",
        description_lv="A",
        description_en="A",
    )
    code = make_new_personal_code(7)
    records.records_upsert(
        actor=SYSTEM,
        dataset=ds,
        records=[{"personal_code": code, "last_name": "Ozols", "birth_date": "1990-01-02"}],
    )
    services.metadata_update(
        actor=SYSTEM, dataset=ds, **complete_values(access_rights=f"{EU}access-right/PUBLIC")
    )
    services.metadata_publish(actor=SYSTEM, dataset=ds)
    _publish(world.ds)  # restricted access rights
    anonymous = Client()

    g = Graph().parse(data=anonymous.get("/catalog.ttl").content, format="turtle")
    [url] = [
        str(o)
        for s, o in g.subject_objects(DCAT.downloadURL)
        if str(s).endswith("#distribution-export-csv")
    ]  # only the public dataset has the export distribution
    assert url.endswith("/open-data/download/atverti-dati.csv")
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = anonymous.get(f"/{path}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "birth_date"  # fields holding personal data are left out
    assert "1990-01-02" in body and "Ozols" not in body and code not in body

    # a dataset that is not open (restricted access), or no longer published: not found
    assert anonymous.get(f"/open-data/download/{world.ds.code}.csv").status_code == 404
    assert anonymous.get("/open-data/download/no-such-dataset.csv").status_code == 404
    # the provider's own export of the same data still needs a login
    assert anonymous.get(f"/uploads/datasets/{ds.code}/export.csv").status_code in (302, 401, 403)
    services.metadata_unpublish(actor=SYSTEM, dataset=ds)
    assert anonymous.get(f"/{path}").status_code == 404


def test_the_form_says_a_retired_dataset_is_not_in_the_catalog(world: Any) -> None:
    from dagr.catalog.services import dataset_set_status

    _publish(world.ds)
    client = Client()
    client.force_login(world.user)
    page = _english_page(client, world.ds.code)
    assert "published in the open data catalogue" in page
    assert "not in the open data catalogue" not in page
    dataset_set_status(actor=SYSTEM, dataset=world.ds, status="retired")
    assert "not in the open data catalogue" in _english_page(client, world.ds.code)


def _english_page(client: Client, code: str) -> str:
    response = client.get(f"/open-data/datasets/{code}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()
