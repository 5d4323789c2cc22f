"""Record set services: the definition (grant, identifier field, conditions), watched values
(validation, duplicates, limits, CSV import with line errors, 100k values), audit, membership."""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dagr.accounts.models import Institution, Membership
from dagr.audit.models import AdminEntry
from dagr.catalog.schema import extract_identifiers, parse_schema
from dagr.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dagr.core.identifiers import make_company_code, make_old_personal_code
from dagr.grants.services import grant_approve, grant_request
from dagr.monitoring import record_set_feed, selectors, services
from dagr.monitoring.models import RecordSet, RecordSetIdentifier
from tests.factories import make_institution, make_user
from tests.retrieval.factories import SCHEMA, company, make_world

from .record_set_helpers import make_set, use_personal_codes, watch

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def values_of(record_set: RecordSet) -> list[str]:
    return sorted(
        RecordSetIdentifier.objects.filter(record_set=record_set).values_list("value", flat=True)
    )


def upload(content: bytes | str, name: str = "ids.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


# --- the definition -------------------------------------------------------------------------


def test_create_over_own_grant_is_audited(w):
    record_set = make_set(w, conditions=[{"field": "city", "op": "eq", "value": "Rīga"}])
    assert record_set.grant_id == w.grant.pk and record_set.dataset_id == w.dataset.pk
    assert record_set.institution_id == w.recipient.pk
    assert record_set.identifier_count == 0 and record_set.revision == 1
    entry = AdminEntry.objects.get(action="monitoring.record_set.created")
    assert entry.target_id == str(record_set.pk) and entry.institution_id == w.recipient.pk
    assert entry.changes["identifier_field"] == [None, "registration_number"]


def test_grant_of_another_institution_is_not_found(w):
    other = make_institution(kind=Institution.Kind.RECIPIENT)
    other_rep = make_user(institution=other, roles=(Membership.Role.RECIPIENT,))
    with pytest.raises(NotFound) as exc:
        make_set(w, actor=other_rep, institution_id=other.pk)
    assert exc.value.code == "grant_not_found"
    # ... and the other institution may not act for the grant's institution either
    with pytest.raises(PermissionDenied):
        make_set(w, actor=other_rep)


def test_unknown_permission_number_and_unapproved_grant_are_not_found(w):
    with pytest.raises(NotFound):
        make_set(w, permission_number="ATL-404")
    with pytest.raises(NotFound):
        make_set(w, permission_number="")
    requested = grant_request(
        actor=w.recipient_rep, recipient=w.recipient, dataset=w.dataset, fields=["name"],
        conditions=[], legal_basis="x", purpose="y",
    )  # fmt: skip
    assert requested.permission_number == ""
    with pytest.raises(NotFound):
        make_set(w, permission_number="")


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("name", "unknown_identifier"),  # not an identifier
        ("nope", "unknown_identifier"),
        ("board_members.role", "unknown_identifier"),
    ],
)
def test_identifier_field_must_be_a_declared_identifier(w, field, code):
    with pytest.raises(ValidationError) as exc:
        make_set(w, identifier_field=field)
    assert exc.value.code == code


def test_identifier_field_must_be_granted(w):
    requested = grant_request(
        actor=w.recipient_rep, recipient=w.recipient, dataset=w.dataset,
        fields=["registration_number", "name"], conditions=[], legal_basis="x", purpose="y",
    )  # fmt: skip
    grant_approve(actor=w.provider_rep, grant=requested, permission_number="ATL-2")
    assert make_set(w, permission_number="ATL-2").identifier_field == "registration_number"
    with pytest.raises(ValidationError) as exc:
        make_set(w, permission_number="ATL-2", identifier_field="board_members.personal_code")
    assert exc.value.code == "field_not_granted"


def test_conditions_are_validated_and_only_on_granted_fields(w):
    with pytest.raises(ValidationError) as exc:
        make_set(w, conditions=[{"field": "employees", "op": "older_than", "value": 3}])
    assert exc.value.code == "invalid_conditions"
    assert exc.value.errors[0]["code"] == "operator_not_allowed"
    with pytest.raises(ValidationError) as exc:
        make_set(w, conditions=[{"field": "secret_note", "op": "eq", "value": "x"}])
    assert exc.value.errors[0]["location"] == "conditions.0"
    assert exc.value.errors[0]["code"] == "field_not_granted"
    with pytest.raises(ValidationError):
        make_set(w, name="  ")
    record_set = make_set(
        w, identifier_field="", conditions=[{"field": "city", "op": "eq", "value": "Rīga"}]
    )
    assert record_set.identifier_field == ""


def test_update_name_and_conditions_and_delete(w):
    record_set = make_set(w)
    watch(w, record_set, "40000000001", "40000000002")
    services.record_set_update(
        actor=w.recipient_rep,
        record_set=record_set,
        name="Jauns",
        conditions=[{"field": "city", "op": "eq", "value": "Rīga"}],
    )
    record_set.refresh_from_db()
    assert record_set.name == "Jauns" and record_set.conditions[0]["field"] == "city"
    entry = AdminEntry.objects.get(action="monitoring.record_set.updated")
    assert entry.changes["name"] == ["Mani uzņēmumi", "Jauns"]
    with pytest.raises(ValidationError):
        services.record_set_update(
            actor=w.recipient_rep, record_set=record_set, conditions=[{"field": "x"}]
        )
    stranger = make_user(institution=w.provider, roles=(Membership.Role.PROVIDER,))
    with pytest.raises(PermissionDenied):
        services.record_set_delete(actor=stranger, record_set=record_set)
    services.record_set_delete(actor=w.recipient_rep, record_set=record_set)
    assert not RecordSet.objects.exists() and not RecordSetIdentifier.objects.exists()
    assert AdminEntry.objects.filter(action="monitoring.record_set.deleted").count() == 1


def test_selector_hides_other_institutions_sets(w):
    record_set = make_set(w)
    assert selectors.record_set_get(actor=w.recipient_rep, pk=record_set.pk) == record_set
    stranger = make_user(
        institution=make_institution(kind=Institution.Kind.RECIPIENT),
        roles=(Membership.Role.RECIPIENT,),
    )
    with pytest.raises(NotFound) as exc:
        selectors.record_set_get(actor=stranger, pk=record_set.pk)
    assert exc.value.code == "record_set_not_found"
    assert list(selectors.record_sets_of(actor=stranger)) == []
    assert list(selectors.record_sets_of(actor=w.recipient_rep)) == [record_set]


# --- watched values -------------------------------------------------------------------------


def test_add_remove_strips_ignores_duplicates_and_keeps_the_count(w):
    record_set = make_set(w)
    result = services.record_set_identifiers_change(
        actor=w.recipient_rep,
        record_set=record_set,
        add=[" 40000000001 ", "40000000002", "40000000001", 40000000003],
    )
    assert (result.added, result.removed, result.count) == (3, 0, 3)
    assert record_set.revision == 2
    again = services.record_set_identifiers_change(
        actor=w.recipient_rep, record_set=record_set, add=["40000000002", "40000000004"],
        remove=["40000000001", "never-watched"],
    )  # fmt: skip
    assert (again.added, again.removed, again.count) == (1, 1, 3)
    assert values_of(record_set) == ["40000000002", "40000000003", "40000000004"]
    record_set.refresh_from_db()
    assert record_set.identifier_count == 3 and record_set.revision == 3
    entries = AdminEntry.objects.filter(action="monitoring.record_set.identifiers_changed")
    assert entries.count() == 2
    # the audit counts values, it never stores them
    assert "40000000002" not in str(list(entries.values_list("changes", flat=True)))
    # nothing changed → no revision bump, no audit entry
    services.record_set_identifiers_change(
        actor=w.recipient_rep, record_set=record_set, add=["40000000002"]
    )
    record_set.refresh_from_db()
    assert record_set.revision == 3 and entries.count() == 2


def test_invalid_values_change_nothing_and_are_located(w):
    record_set = make_set(w)
    with pytest.raises(ValidationError) as exc:
        services.record_set_identifiers_change(
            actor=w.recipient_rep,
            record_set=record_set,
            add=["ok-1", "", "x" * 256, None, True, "ok-2"],
        )
    assert exc.value.code == "invalid_identifiers"
    assert [e["location"] for e in exc.value.errors] == ["add.1", "add.2", "add.3", "add.4"]
    assert values_of(record_set) == []


def test_personal_and_company_codes_are_checked(w):
    use_personal_codes(w)
    record_set = make_set(w, identifier_field="board_members.personal_code")
    good = [make_old_personal_code(date(1990, 5, 17), 123), "32000000001"]
    with pytest.raises(ValidationError) as exc:
        watch(w, record_set, *good, "17059012345", "P-1")
    assert [e["code"] for e in exc.value.errors] == ["invalid_identifier", "invalid_identifier"]
    assert [e["value"] for e in exc.value.errors] == ["17059012345", "P-1"]
    watch(w, record_set, *good)
    assert values_of(record_set) == sorted(good)
    by_company = make_set(w, identifier_field="registration_number")
    code = make_company_code(12) or make_company_code(13)
    watch(w, by_company, code)
    with pytest.raises(ValidationError):
        watch(w, by_company, "40000000009")


def test_per_call_and_total_limits(w, settings):
    record_set = make_set(w)
    with pytest.raises(ValidationError) as exc:
        watch(w, record_set, *[str(n) for n in range(10_001)])
    assert exc.value.code == "too_many_values"
    settings.MONITORING_MAX_IDENTIFIERS = 5
    watch(w, record_set, "1", "2", "3")
    with pytest.raises(ValidationError) as exc:
        watch(w, record_set, "3", "4", "5", "6")
    assert exc.value.code == "too_many_identifiers"
    assert values_of(record_set) == ["1", "2", "3"]
    watch(w, record_set, "3", "4", "5")  # exactly the limit
    record_set.refresh_from_db()
    assert record_set.identifier_count == 5


def test_a_set_without_identifier_field_has_no_list(w):
    record_set = make_set(
        w, identifier_field="", conditions=[{"field": "city", "op": "eq", "value": "Rīga"}]
    )
    with pytest.raises(Conflict) as exc:
        watch(w, record_set, "40000000001")
    assert exc.value.code == "record_set_without_identifiers"


# --- CSV import -----------------------------------------------------------------------------


def test_csv_one_column_without_header_with_bom_and_blank_lines(w):
    record_set = make_set(w)
    content = "\ufeff40000000001\r\n\r\n 40000000002 \r\n40000000001\r\n"
    result = services.record_set_identifiers_import_csv(
        actor=w.recipient_rep, record_set=record_set, uploaded_file=upload(content)
    )
    assert (result.added, result.count, result.lines) == (2, 2, 3)
    assert values_of(record_set) == ["40000000001", "40000000002"]


def test_csv_header_and_named_column_among_several(w):
    record_set = make_set(w, identifier_field="board_members.personal_code")
    content = "name;personal_code;note\nJānis;P-1;a\nAnna;P-2;b\n"
    services.record_set_identifiers_import_csv(
        actor=w.recipient_rep, record_set=record_set, uploaded_file=upload(content)
    )
    assert values_of(record_set) == ["P-1", "P-2"]
    single = make_set(w, name="Otrs")
    services.record_set_identifiers_import_csv(
        actor=w.recipient_rep,
        record_set=single,
        uploaded_file=upload("Registration number\n40000000005\n"),
    )
    assert values_of(single) == ["40000000005"]
    with pytest.raises(ValidationError) as exc:
        services.record_set_identifiers_import_csv(
            actor=w.recipient_rep, record_set=single, uploaded_file=upload("a,b\n1,2\n")
        )
    assert exc.value.code == "file_no_identifier_column"


def test_csv_invalid_lines_are_reported_with_line_numbers_and_nothing_is_written(w):
    use_personal_codes(w)
    record_set = make_set(w, identifier_field="board_members.personal_code")
    good = make_old_personal_code(date(1985, 2, 3), 7)
    content = f"personal_code\n{good}\nnot-a-code\n\n{good[:-1]}0\n"
    if good.endswith("0"):
        content = content.replace(f"{good[:-1]}0", f"{good[:-1]}1")
    with pytest.raises(ValidationError) as exc:
        services.record_set_identifiers_import_csv(
            actor=w.recipient_rep, record_set=record_set, uploaded_file=upload(content)
        )
    assert [e["location"] for e in exc.value.errors] == ["3", "5"]
    assert exc.value.extra["invalid_count"] == 2
    assert values_of(record_set) == []


def test_csv_replace_mode_and_file_limits(w):
    record_set = make_set(w)
    watch(w, record_set, "old-1", "keep")
    result = services.record_set_identifiers_import_csv(
        actor=w.recipient_rep, record_set=record_set, uploaded_file=upload("keep\nnew-1\n"),
        mode="replace",
    )  # fmt: skip
    assert (result.added, result.removed, result.count) == (2, 2, 2)
    assert values_of(record_set) == ["keep", "new-1"]
    with pytest.raises(ValidationError) as exc:
        services.record_set_identifiers_import_csv(
            actor=w.recipient_rep,
            record_set=record_set,
            uploaded_file=upload(""),
        )
    assert exc.value.code == "file_empty"
    big = upload(b"1\n" * (services.MAX_CSV_BYTES // 2 + 1))
    with pytest.raises(ValidationError) as exc:
        services.record_set_identifiers_import_csv(
            actor=w.recipient_rep, record_set=record_set, uploaded_file=big
        )
    assert exc.value.code == "file_too_large"
    with pytest.raises(ValidationError) as exc:
        services.record_set_identifiers_import_csv(
            actor=w.recipient_rep, record_set=record_set, uploaded_file=upload("a"), mode="x"
        )
    assert exc.value.code == "invalid_mode"


def test_csv_import_of_100k_personal_codes(w):
    # The time is printed, not asserted (tests never assert timings; the figures vary ±2× on a
    # shared machine).
    use_personal_codes(w)
    record_set = make_set(w, identifier_field="board_members.personal_code")
    codes = [make_old_personal_code(date(1950, 1, 1) + timedelta(days=n % 20_000), n // 20_000)
             for n in range(100_000)]  # fmt: skip
    unique = set(codes)
    content = ("personal_code\n" + "\n".join(codes) + "\n").encode()
    started = time.perf_counter()
    result = services.record_set_identifiers_import_csv(
        actor=w.recipient_rep, record_set=record_set, uploaded_file=upload(content)
    )
    took = time.perf_counter() - started
    sys.stderr.write(f"\n100k CSV import: {took:.2f} s ({len(unique)} distinct)\n")
    assert result.count == len(unique) == 100_000 and result.lines == 100_000
    started = time.perf_counter()
    result = services.record_set_identifiers_import_csv(
        actor=w.recipient_rep, record_set=record_set, uploaded_file=upload(content),
        mode="replace",
    )  # fmt: skip
    sys.stderr.write(f"100k CSV replace: {time.perf_counter() - started:.2f} s\n")
    assert result.count == len(unique)
    started = time.perf_counter()
    member = services.record_set_member(record_set)
    sys.stderr.write(
        f"membership of {len(unique)} values built in {time.perf_counter() - started:.2f} s\n"
    )
    assert member(company(1, board_members=[{"personal_code": codes[0]}]))


# --- membership -----------------------------------------------------------------------------


def test_member_tests_watched_values_and_conditions(w):
    record_set = make_set(
        w, identifier_field="board_members.personal_code",
        conditions=[{"field": "city", "op": "eq", "value": "Rīga"}],
    )  # fmt: skip
    member = services.record_set_member(record_set)
    assert not member(company(1))  # no watched value yet: no members
    watch(w, record_set, "P-1", "P-4")
    member = services.record_set_member(record_set)
    assert member(company(1))  # P-1, Rīga
    assert not member(company(4))  # P-4, Liepāja
    assert not member(company(3))  # Rīga, not watched
    assert not member({"city": "Rīga"})


def test_member_uses_the_cache_until_the_revision_changes(w, django_assert_num_queries):
    record_set = make_set(w)
    watch(w, record_set, "40000000001")
    services.record_set_member(record_set)
    with django_assert_num_queries(0):
        member = services.record_set_member(record_set, schema=parse_schema(SCHEMA))
    assert member(company(1)) and not member(company(2))
    watch(w, record_set, "40000000002")
    assert services.record_set_member(record_set)(company(2))


def test_member_without_list_and_with_top_level_integer_agrees_with_extract_identifiers(w):
    record_set = make_set(w, identifier_field="", conditions=[])
    assert services.record_set_member(record_set)({"anything": 1})
    schema = parse_schema(SCHEMA)
    data = company(7)
    for path, value in extract_identifiers(schema, data):
        parts = tuple(path.split("."))
        assert value in set(record_set_feed._values_at(data, parts))


def test_member_refuses_a_definition_the_grant_no_longer_covers(w):
    record_set = make_set(w, identifier_field="board_members.personal_code")
    from tests.retrieval.factories import set_grant

    set_grant(w.grant, fields=["registration_number", "name"])
    record_set.grant.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.record_set_member(record_set)
    assert exc.value.code == "record_set_outdated"
