from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dagr.accounts.models import Institution, Membership, User
from dagr.catalog.models import Dataset
from dagr.demo import schemas
from dagr.demo.services import DEMO_PASSWORD, USERS, DemoSizes, demo_create
from dagr.grants.models import Grant
from dagr.knowledge.models import Article
from dagr.monitoring.models import RecordSet
from dagr.records import selectors
from dagr.records.models import Change, Load, Record, RecordVersion

pytestmark = pytest.mark.django_db

ARGS = {"persons": 300, "companies": 60, "addresses": 250, "seed": 3}


def run(**options) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    return {
        "institutions": Institution.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "datasets": Dataset.objects.count(),
        "records": Record.objects.count(),
        "versions": RecordVersion.objects.count(),
        "changes": Change.objects.count(),
        "grants": Grant.objects.count(),
        "record_sets": RecordSet.objects.count(),
    }


def test_demo_creates_everything_once_and_prints_the_logins():
    output = run(**ARGS)
    first = snapshot()
    assert first["institutions"] == 6 and first["users"] == len(USERS) and first["datasets"] == 3
    assert first["records"] == 300 + 60 + 250 and first["changes"] == first["records"]
    for local, *_rest in USERS:
        assert f"{local}@dagr.example" in output
    assert DEMO_PASSWORD in output
    assert "/help/" in output and Article.objects.filter(slug="request-access").exists()

    # The recipients' demo: an approved grant with a record set, and a request to decide.
    approved = Grant.objects.get(permission_number="DEMO-ATL-2026-001")
    assert approved.status == Grant.Status.APPROVED
    assert approved.recipient.memberships.filter(user__email="recipient@dagr.example").exists()
    assert Grant.objects.filter(status=Grant.Status.REQUESTED).count() == 1
    (record_set,) = RecordSet.objects.all()
    assert record_set.grant == approved and record_set.identifier_count == 25

    again = run(**ARGS)
    assert snapshot() == first
    assert DEMO_PASSWORD in again and "admin@dagr.example" in again


def test_every_role_has_a_demo_user_who_can_log_in():
    run(**ARGS)
    assert User.objects.filter(is_portal_admin=True, email="admin@dagr.example").exists()
    assert set(Membership.objects.values_list("role", flat=True)) == set(Membership.Role.values)
    for user in User.objects.filter(email__endswith="@dagr.example"):
        assert user.is_active and user.check_password(DEMO_PASSWORD)
    for dataset in Dataset.objects.all():
        assert dataset.status == Dataset.Status.PRODUCTION
        assert dataset.provider.is_provider


def test_the_loaded_registers_are_linked():
    run(**ARGS)
    persons = Dataset.objects.get(code=schemas.PERSONS["code"])
    companies = Dataset.objects.get(code=schemas.COMPANIES["code"])
    addresses = Dataset.objects.get(code=schemas.ADDRESSES["code"])
    company = Record.objects.filter(dataset=companies).order_by("pk").first()
    member = company.data["board_members"][0]["personal_code"]
    person = selectors.record_get_by_identifier(dataset=persons, path="personal_code", value=member)
    assert person.data["last_name"] == company.data["board_members"][0]["last_name"]
    found = selectors.record_list_by_identifier(
        dataset=companies, path="board_members.personal_code", value=member
    )
    assert company in found
    home = selectors.record_get_by_identifier(
        dataset=addresses, path="code", value=person.data["declared_address_code"]
    )
    assert home.data["type"] == "building"
    assert Load.objects.filter(source=Load.Source.DEMO, status=Load.Status.SUCCEEDED).count() == 3


def test_rerunning_through_the_loader_changes_nothing():
    """Even without the "already loaded" shortcut the upsert finds every record unchanged."""
    sizes = DemoSizes(persons=300, companies=60, addresses=250, seed=3)
    demo_create(sizes=sizes)
    before = snapshot()
    Load.objects.filter(source=Load.Source.DEMO).update(details={})
    report = demo_create(sizes=DemoSizes(persons=300, companies=60, addresses=250, seed=3))
    assert snapshot() == before
    assert [row[2:5] for row in report.datasets] == [(0, 0, 250), (0, 0, 300), (0, 0, 60)]


def test_a_larger_run_adds_records():
    run(**ARGS)
    run(**{**ARGS, "persons": 400})
    persons = Dataset.objects.get(code=schemas.PERSONS["code"])
    assert selectors.record_count(persons) == 400


def test_bad_sizes_are_refused():
    with pytest.raises(CommandError):
        run(persons=0)


@pytest.mark.usefixtures("two_factor_enforced")
def test_demo_administrator_logs_in_with_the_printed_two_factor_code(client):
    """Administrators and signatories must use two-factor authentication: the demo enrols them
    with the published secret, and `dagr demo --two-factor-code` prints the code that works."""
    from django.urls import reverse

    from dagr.accounts import twofactor

    output = run(**ARGS)
    assert "--two-factor-code" in output
    admin = User.objects.get(email="admin@dagr.example")
    signatory = User.objects.get(email="signatory@dagr.example")
    assert twofactor.has_two_factor(admin) and twofactor.has_two_factor(signatory)
    assert not twofactor.has_two_factor(User.objects.get(email="recipient@dagr.example"))

    answer = client.post(
        reverse("accounts:login"), {"username": admin.email, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 302 and answer.url == reverse("accounts:login_code")
    code = run(two_factor_code=True).strip()
    assert len(code) == 6 and code.isdigit()
    answer = client.post(reverse("accounts:login_code"), {"code": code})
    assert answer.status_code == 302 and client.session["_auth_user_id"] == str(admin.pk)
    assert client.get(reverse("portal:dashboard")).status_code == 200
