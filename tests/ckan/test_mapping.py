from dagr.ckan import mapping
from tests.ckan.graphs import EU, dataset_graph


def test_the_dataset_maps_to_dcat_scheming_fields():
    graph, iri = dataset_graph()
    package, resources = mapping.package_dict(graph, iri, name="companies", owner_org="org-1")
    assert package["uri"] == iri and package["identifier"] == "companies"
    assert package["title_translated"] == {"en": "Companies", "lv": "Uzņēmumi"}
    assert package["title"] == "Uzņēmumi"
    assert package["notes_translated"]["en"] == "Data of the company register."
    assert package["tags_translated"] == {"en": ["companies"], "lv": ["reģistrs", "uzņēmumi"]}
    assert package["theme"] == [EU + "data-theme/ECON", EU + "data-theme/GOVE"]
    assert package["language"] == [EU + "language/LAV"]
    assert package["frequency"] == EU + "frequency/DAILY"
    assert package["access_rights"] == EU + "access-right/PUBLIC"
    assert package["issued"] == "2026-01-15"
    assert package["publisher"] == [
        {
            "uri": "https://dagr.example.lv/institutions/1",
            "name": "Uzņēmumu reģistrs",
            "type": "http://purl.org/adms/publishertype/NationalAuthority",
        }
    ]
    assert package["contact"] == [{"name": "Datu nodaļa", "email": "dati@ur.example.lv"}]
    assert [r["uri"] for r in resources] == [iri + "distributions/api", iri + "distributions/csv"]
    csv = resources[1]
    assert csv["url"] == csv["download_url"] == "https://dagr.example.lv/test-data/companies.csv"
    assert csv["format"] == EU + "file-type/CSV"
    assert csv["name_translated"] == {"en": "Download csv", "lv": "Lejupielāde csv"}


def test_the_licence_sits_on_each_resource_and_on_the_package_only_when_shared_and_known():
    graph, iri = dataset_graph()
    package, resources = mapping.package_dict(graph, iri, name="x1", owner_org="o")
    assert {r["license"] for r in resources} == {EU + "licence/CC_BY_4_0"}
    assert package["license_id"] == "CC-BY-4.0"
    graph, iri = dataset_graph(licence="https://example.lv/own-licence")
    package, resources = mapping.package_dict(graph, iri, name="x1", owner_org="o")
    assert "license_id" not in package  # not guessed
    assert resources[0]["license"] == "https://example.lv/own-licence"


def test_the_same_graph_gives_the_same_dict():
    one = mapping.package_dict(*dataset_graph(), name="a1", owner_org="o")
    two = mapping.package_dict(*dataset_graph(), name="a1", owner_org="o")
    assert one == two


def test_package_names_follow_ckan_rules():
    assert mapping.package_name("Companies.2026") == "companies-2026"
    assert mapping.package_name("x") == "dataset-x"
    assert len(mapping.package_name("a" * 300)) == 100


def test_the_eu_distribution_status_becomes_the_adms_choice_of_the_schema():
    from rdflib import URIRef

    graph, iri = dataset_graph(distributions=("csv",))
    d = URIRef(iri + "distributions/csv")
    graph.set((d, mapping.ADMS.status, URIRef(mapping.EU_STATUS + "DEVELOP")))
    _package, [resource] = mapping.package_dict(graph, iri, name="a1", owner_org="o")
    assert resource["status"] == "http://purl.org/adms/status/UnderDevelopment"
    graph.set((d, mapping.ADMS.status, URIRef("https://example.lv/own-status")))
    _package, [resource] = mapping.package_dict(graph, iri, name="a1", owner_org="o")
    assert "status" not in resource  # not a value the portal's select accepts
