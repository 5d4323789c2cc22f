"""Catalogue services: creation, metadata, versioned schemas, the refusal of changes that would
invalidate stored records, status rules, permissions and audit entries."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.audit.models import AdminEntry
from dagr.catalog import hooks, services
from dagr.catalog.models import Dataset, SchemaVersion
from dagr.catalog.schema import SchemaDef, compile_validator, parse_schema
from dagr.core.actors import SYSTEM
from dagr.core.errors import NotFound, PermissionDenied, ValidationError
from dagr.core.identifiers import make_old_personal_code
from tests.factories import PERSON_SCHEMA, make_admin, make_dataset, make_institution, make_user

pytestmark = pytest.mark.django_db
P = Membership.Role.PROVIDER


def schema_with(*changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(PERSON_SCHEMA)
    for change in changes:
        change(document)
    return document


def field(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in document["fields"] if f["name"] == name)


@pytest.fixture
def provider() -> Institution:
    return make_institution(kind=Institution.Kind.PROVIDER)


@pytest.fixture
def rep(provider: Institution) -> Any:
    return make_user(institution=provider, roles=(P,))


def entries(action: str) -> list[AdminEntry]:
    return list(AdminEntry.objects.filter(action=action).order_by("id"))


# --- create ------------------------------------------------------------------------------------


def test_create_stores_version_one_and_an_audit_entry(provider, rep):
    ds = services.dataset_create(
        actor=rep,
        provider=provider,
        code="persons",
        title_lv=" Personas ",
        title_en="Persons",
        description_lv="Apraksts",
        schema=PERSON_SCHEMA,
    )
    ds.refresh_from_db()
    assert ds.status == Dataset.Status.SANDBOX
    assert ds.title_lv == "Personas"
    assert ds.created_by == rep
    assert ds.schema.number == 1
    assert ds.schema.created_by == rep
    assert parse_schema(ds.schema.definition).key == "personal_code"
    [entry] = entries("catalog.dataset.created")
    assert entry.actor_id == rep.pk
    assert entry.target_id == str(ds.pk)
    assert entry.institution_id == provider.pk
    assert entry.changes["code"] == "persons"
    assert entry.changes["schema_version"] == 1
    assert entry.changes["identifiers"] == [["personal_code", "personal_code"]]


def test_the_system_actor_creates_production_datasets():
    ds = make_dataset(status=Dataset.Status.PRODUCTION)
    assert ds.status == "production"
    assert ds.created_by is None
    assert entries("catalog.dataset.created")[0].actor_label == "system"


def test_a_provider_cannot_create_a_production_dataset(provider, rep):
    with pytest.raises(PermissionDenied):
        services.dataset_create(
            actor=rep,
            provider=provider,
            code="persons",
            title_lv="a",
            title_en="b",
            schema=PERSON_SCHEMA,
            status=Dataset.Status.PRODUCTION,
        )
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("who", ["other_provider", "recipient_role", "anonymous", "recipient_inst"])
def test_only_the_institutions_providers_may_create(provider, who):
    other = make_institution(kind=Institution.Kind.PROVIDER)
    target = provider
    actor: Any
    if who == "other_provider":
        actor = make_user(institution=other, roles=(P,))
    elif who == "recipient_role":
        actor = make_user(institution=provider, roles=(Membership.Role.RECIPIENT,))
    elif who == "anonymous":
        actor = None
    else:
        target = make_institution(kind=Institution.Kind.RECIPIENT)
        actor = make_admin()
    with pytest.raises(PermissionDenied):
        services.dataset_create(
            actor=actor,
            provider=target,
            code="x-1",
            title_lv="a",
            title_en="b",
            schema=PERSON_SCHEMA,
        )
    assert not AdminEntry.objects.exists()


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("Persons", "invalid_dataset_code"),
        ("ab", "invalid_dataset_code"),
        ("persons-", "invalid_dataset_code"),
        ("pers ons", "invalid_dataset_code"),
        ("new", "invalid_dataset_code"),
        ("taken", "dataset_code_taken"),
    ],
)
def test_codes_are_url_safe_and_unique(provider, rep, code, error):
    make_dataset(provider=provider, code="taken")
    with pytest.raises(ValidationError) as caught:
        services.dataset_create(
            actor=rep,
            provider=provider,
            code=code,
            title_lv="a",
            title_en="b",
            schema=PERSON_SCHEMA,
        )
    assert caught.value.code == error
    assert caught.value.errors[0]["location"] == "code"


def test_titles_are_required(provider, rep):
    with pytest.raises(ValidationError) as caught:
        services.dataset_create(
            actor=rep,
            provider=provider,
            code="abc",
            title_lv=" ",
            title_en="",
            schema=PERSON_SCHEMA,
        )
    assert {e["location"] for e in caught.value.errors} == {"title_lv", "title_en"}


def test_an_invalid_schema_creates_nothing(provider, rep):
    with pytest.raises(ValidationError) as caught:
        services.dataset_create(
            actor=rep, provider=provider, code="abc", title_lv="a", title_en="b", schema={"key": 1}
        )
    assert caught.value.code == "invalid_schema"
    assert not Dataset.objects.exists() and not SchemaVersion.objects.exists()


# --- metadata ----------------------------------------------------------------------------------


def test_update_changes_metadata_and_audits_the_diff(provider, rep):
    ds = make_dataset(provider=provider, title_en="Old")
    services.dataset_update(actor=rep, dataset=ds, title_en="New", description_en="About")
    ds.refresh_from_db()
    assert (ds.title_en, ds.description_en) == ("New", "About")
    [entry] = entries("catalog.dataset.updated")
    assert entry.changes == {"description_en": ["", "About"], "title_en": ["Old", "New"]}


def test_update_without_changes_writes_no_audit_entry(provider, rep):
    ds = make_dataset(provider=provider)
    services.dataset_update(actor=rep, dataset=ds, title_lv=ds.title_lv)
    assert not entries("catalog.dataset.updated")


def test_the_code_cannot_be_changed(provider, rep):
    ds = make_dataset(provider=provider)
    with pytest.raises(ValidationError):
        services.dataset_update(actor=rep, dataset=ds, code="other")


def test_another_institution_cannot_edit(provider):
    outsider = make_user(institution=make_institution(), roles=(P,))
    sandbox = make_dataset(provider=provider)
    public = make_dataset(provider=provider, status=Dataset.Status.PRODUCTION)
    with pytest.raises(NotFound):
        services.dataset_update(actor=outsider, dataset=sandbox, title_en="x")
    with pytest.raises(PermissionDenied):
        services.dataset_update(actor=outsider, dataset=public, title_en="x")
    with pytest.raises(NotFound):
        services.dataset_schema_update(actor=outsider, dataset=sandbox, schema=PERSON_SCHEMA)
    assert not entries("catalog.dataset.updated")


# --- schema versions ---------------------------------------------------------------------------


def add_optional(document: dict[str, Any]) -> None:
    document["fields"].append(
        {"name": "nickname", "title_lv": "Iesauka", "title_en": "Nickname", "type": "string"}
    )


def require_birth_date(document: dict[str, Any]) -> None:
    field(document, "birth_date")["required"] = True


def test_a_changed_schema_becomes_the_next_version(provider, rep):
    ds = make_dataset(provider=provider)
    version = services.dataset_schema_update(
        actor=rep, dataset=ds, schema=schema_with(add_optional), note="iesauka"
    )
    ds.refresh_from_db()
    assert version.number == 2 and ds.schema == version
    assert version.note == "iesauka" and version.created_by == rep
    assert SchemaVersion.objects.filter(dataset=ds).count() == 2
    [entry] = entries("catalog.dataset.schema_changed")
    assert entry.changes["schema_version"] == [1, 2]
    assert entry.changes["changes"] == [
        {"code": "field_added", "path": "nickname", "breaking": False, "old": None, "new": None}
    ]


def test_an_unchanged_schema_makes_no_version(provider, rep):
    ds = make_dataset(provider=provider)
    explicit = schema_with(lambda d: field(d, "birth_date").update(required=False, personal=False))
    version = services.dataset_schema_update(actor=rep, dataset=ds, schema=explicit)
    assert version.number == 1
    assert SchemaVersion.objects.filter(dataset=ds).count() == 1
    assert not entries("catalog.dataset.schema_changed")


def test_an_invalid_schema_is_refused_with_locations(provider, rep):
    ds = make_dataset(provider=provider)
    bad = schema_with(lambda d: field(d, "last_name").update(type="text"))
    with pytest.raises(ValidationError) as caught:
        services.dataset_schema_update(actor=rep, dataset=ds, schema=bad)
    assert caught.value.errors[0]["location"] == "fields.1.type"


def test_schema_changes_lists_every_difference_and_marks_breaking_ones():
    old = parse_schema(
        schema_with(
            lambda d: d["fields"].append(
                {
                    "name": "documents",
                    "title_lv": "Dokumenti",
                    "title_en": "Documents",
                    "type": "list",
                    "fields": [
                        {"name": "number", "title_lv": "N", "title_en": "N", "type": "string"},
                        {"name": "kind", "title_lv": "V", "title_en": "K", "type": "string"},
                    ],
                }
            )
        )
    )
    new_doc = old.as_document()
    fields = {f["name"]: f for f in new_doc["fields"]}
    fields["last_name"]["required"] = False
    fields["last_name"]["personal"] = False
    fields["birth_date"]["type"] = "string"
    fields["birth_date"]["title_en"] = "Born"
    docs = fields["documents"]["fields"]
    docs[0]["identifier"] = "other"
    docs[0]["required"] = True
    del docs[1]
    docs.append({"name": "issued", "title_lv": "I", "title_en": "I", "type": "date"})
    new_doc["fields"].insert(0, new_doc["fields"].pop(2))  # birth_date first
    new_doc["fields"].append(
        {"name": "alias", "title_lv": "A", "title_en": "A", "type": "string", "required": True}
    )
    changes = services.schema_changes(old, parse_schema(new_doc))
    found = {(c.code, c.path): c.breaking for c in changes}
    assert found == {
        ("now_optional", "last_name"): False,
        ("personal_changed", "last_name"): False,
        ("type_changed", "birth_date"): True,
        ("texts_changed", "birth_date"): False,
        ("field_removed", "documents.kind"): True,
        ("now_required", "documents.number"): True,
        ("identifier_changed", "documents.number"): True,
        ("field_added", "documents.issued"): False,
        ("required_field_added", "alias"): True,
        ("order_changed", ""): False,
    }
    by_code = {c.code: c for c in changes}
    assert by_code["type_changed"].message == "field birth_date: type changed from date to string"
    assert str(by_code["identifier_changed"]) == (
        "field documents.number: identifier kind changed from none to other"
    )


def test_a_changed_key_is_a_breaking_change():
    old = parse_schema(PERSON_SCHEMA)
    new = schema_with(
        lambda d: field(d, "last_name").update(identifier="other"),
        lambda d: d.update(key="last_name"),
    )
    [change] = services.schema_changes(old, parse_schema(new))[:1]
    assert (change.code, change.breaking, change.old, change.new) == (
        "key_changed",
        True,
        "personal_code",
        "last_name",
    )


# --- refusing changes that would invalidate stored records --------------------------------------


class StoredRecords:
    """A real record checker over an in-test list of records, registered through the hooks the
    records app uses."""

    def __init__(self) -> None:
        self.by_dataset: dict[int, list[dict[str, Any]]] = {}
        self.calls = 0

    def check(
        self, dataset: Dataset, schema: SchemaDef, limit: int
    ) -> tuple[int, list[tuple[str, list[Any]]]]:
        self.calls += 1
        validate = compile_validator(schema)
        key = parse_schema(dataset.schema.definition).key
        invalid: list[tuple[str, list[Any]]] = []
        for record in self.by_dataset.get(dataset.pk, []):
            _, errors = validate(record)
            if errors:
                invalid.append((str(record.get(key)), errors))
        return len(invalid), invalid[:limit]

    def count(self, dataset: Dataset) -> int:
        return len(self.by_dataset.get(dataset.pk, []))


@pytest.fixture
def stored() -> Iterator[StoredRecords]:
    store = StoredRecords()
    hooks.register_record_checker(store.check)
    hooks.register_record_counter(store.count)
    try:
        yield store
    finally:
        hooks.unregister_record_checker(store.check)
        hooks.unregister_record_counter(store.count)


PC1 = make_old_personal_code(date(1980, 5, 17), 1)
PC2 = make_old_personal_code(date(1990, 6, 18), 2)


def test_a_breaking_change_that_would_invalidate_records_is_refused(provider, rep, stored):
    ds = make_dataset(provider=provider)
    stored.by_dataset[ds.pk] = [
        {"personal_code": PC1, "last_name": "Ozola", "birth_date": "1980-05-17"},
        {"personal_code": PC2, "last_name": "Kalniņš"},
    ]
    with pytest.raises(ValidationError) as caught:
        services.dataset_schema_update(
            actor=rep, dataset=ds, schema=schema_with(require_birth_date)
        )
    exc = caught.value
    assert exc.code == "schema_change_invalidates_records"
    assert exc.status == 422
    assert exc.extra["invalid_count"] == 1
    assert exc.extra["examples"] == [
        {
            "key": PC2,
            "errors": [
                {"field": "birth_date", "code": "required", "message": "a value is required"}
            ],
        }
    ]
    assert "1 stored records" in str(exc.message)
    ds.refresh_from_db()
    assert ds.schema.number == 1
    assert not entries("catalog.dataset.schema_changed")


def test_the_same_breaking_change_passes_when_every_record_satisfies_it(provider, rep, stored):
    ds = make_dataset(provider=provider)
    stored.by_dataset[ds.pk] = [
        {"personal_code": PC1, "last_name": "Ozola", "birth_date": "1980-05-17"}
    ]
    version = services.dataset_schema_update(
        actor=rep, dataset=ds, schema=schema_with(require_birth_date)
    )
    assert version.number == 2 and stored.calls == 1


def test_a_compatible_change_does_not_ask_about_records(provider, rep, stored):
    ds = make_dataset(provider=provider)
    stored.by_dataset[ds.pk] = [{"personal_code": PC2, "last_name": "Kalniņš"}]
    version = services.dataset_schema_update(
        actor=rep, dataset=ds, schema=schema_with(add_optional)
    )
    assert version.number == 2 and stored.calls == 0


def test_removing_a_field_that_records_use_is_refused(provider, rep, stored):
    ds = make_dataset(provider=provider)
    stored.by_dataset[ds.pk] = [
        {"personal_code": PC1, "last_name": "Ozola", "birth_date": "1980-05-17"}
    ]
    without = schema_with(lambda d: d["fields"].pop())
    with pytest.raises(ValidationError) as caught:
        services.dataset_schema_update(actor=rep, dataset=ds, schema=without)
    assert caught.value.extra["examples"][0]["errors"][0]["code"] == "unknown_field"


def test_the_key_cannot_change_while_records_exist(provider, rep, stored):
    ds = make_dataset(provider=provider)
    new_key = schema_with(
        lambda d: field(d, "last_name").update(identifier="other"),
        lambda d: d.update(key="last_name"),
    )
    stored.by_dataset[ds.pk] = [{"personal_code": PC1, "last_name": "Ozola"}]
    with pytest.raises(ValidationError) as caught:
        services.dataset_schema_update(actor=rep, dataset=ds, schema=new_key)
    assert caught.value.code == "schema_key_change_with_records"
    stored.by_dataset[ds.pk] = []
    assert services.dataset_schema_update(actor=rep, dataset=ds, schema=new_key).number == 2


def test_schema_listeners_hear_about_new_versions(provider, rep):
    heard: list[tuple[str, Any, Any]] = []

    def listener(dataset: Dataset, old: SchemaDef | None, new: SchemaDef) -> None:
        heard.append((dataset.code, old and old.key, new.key))

    hooks.register_schema_listener(listener)
    try:
        ds = make_dataset(provider=provider, code="listened")
        services.dataset_schema_update(actor=rep, dataset=ds, schema=schema_with(add_optional))
    finally:
        hooks.unregister_schema_listener(listener)
    assert heard == [
        ("listened", None, "personal_code"),
        ("listened", "personal_code", "personal_code"),
    ]


# --- status ------------------------------------------------------------------------------------


def test_a_provider_cannot_promote_but_an_administrator_can(provider, rep):
    ds = make_dataset(provider=provider)
    with pytest.raises(PermissionDenied) as caught:
        services.dataset_set_status(actor=rep, dataset=ds, status="production")
    assert caught.value.code == "dataset_status_denied"
    ds.refresh_from_db()
    assert ds.status == "sandbox"
    services.dataset_set_status(actor=make_admin(), dataset=ds, status="production")
    ds.refresh_from_db()
    assert ds.status == "production"
    [entry] = entries("catalog.dataset.status_changed")
    assert entry.changes == {"status": ["sandbox", "production"]}


def test_a_provider_retires_but_only_an_administrator_reopens(provider, rep):
    ds = make_dataset(provider=provider, status="production")
    services.dataset_set_status(actor=rep, dataset=ds, status="retired")
    assert Dataset.objects.get(pk=ds.pk).status == "retired"
    with pytest.raises(PermissionDenied):
        services.dataset_set_status(actor=rep, dataset=ds, status="sandbox")
    services.dataset_set_status(actor=SYSTEM, dataset=ds, status="sandbox")
    assert Dataset.objects.get(pk=ds.pk).status == "sandbox"
    assert len(entries("catalog.dataset.status_changed")) == 2


def test_invalid_transitions_and_statuses_are_refused(provider):
    admin = make_admin()
    ds = make_dataset(provider=provider, status="production")
    with pytest.raises(ValidationError) as caught:
        services.dataset_set_status(actor=admin, dataset=ds, status="sandbox")
    assert caught.value.code == "invalid_status_transition"
    with pytest.raises(ValidationError) as caught:
        services.dataset_set_status(actor=admin, dataset=ds, status="published")
    assert caught.value.code == "invalid_status"
    services.dataset_set_status(actor=admin, dataset=ds, status="production")  # no-op
    assert not entries("catalog.dataset.status_changed")


def test_another_institution_cannot_change_status(provider):
    outsider = make_user(institution=make_institution(), roles=(P,))
    with pytest.raises(NotFound):
        services.dataset_set_status(
            actor=outsider, dataset=make_dataset(provider=provider), status="retired"
        )
    with pytest.raises(PermissionDenied):
        services.dataset_set_status(
            actor=outsider,
            dataset=make_dataset(provider=provider, status="production"),
            status="retired",
        )
