"""``dagr demo``: demo institutions, users for every role, and three linked demo datasets loaded
through the real loading service.

Idempotent. Institutions are found by registration number, users by e-mail, datasets by code;
what exists is kept as it is (a changed demo user's password is not reset). Each dataset's load
records its generator parameters in ``Load.details``; when the last successful demo load of a
dataset has the same parameters, nothing is loaded. With other parameters (a larger size,
another seed) the generated records go through the idempotent upsert: records with the same
key and content are unchanged, changed ones get a new version, new keys are added, and nothing
is deleted (records of a smaller earlier run stay; some of them are updated because their
links to other registers are drawn from a larger pool).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from dagr.accounts import twofactor
from dagr.accounts.models import Institution, Membership, User
from dagr.accounts.services import institution_create, membership_grant, user_create
from dagr.anonymisation.models import Release, TestDataset
from dagr.anonymisation.services import release_build, release_request, settings_update
from dagr.audit.access import access_entries_write_bulk
from dagr.audit.models import AccessEntry
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_create
from dagr.core.actors import SYSTEM
from dagr.core.identifiers import make_company_code
from dagr.grants.models import Grant
from dagr.grants.services import grant_approve, grant_request
from dagr.knowledge.services import articles_load_shipped
from dagr.monitoring.models import RecordSet
from dagr.monitoring.services import record_set_create, record_set_identifiers_change
from dagr.permissions import rules
from dagr.records.models import Load, Record
from dagr.records.selectors import record_count
from dagr.records.services import records_upsert

from . import generators, schemas
from .open_data import open_data_describe

GENERATOR_VERSION = 1
DEMO_PASSWORD = "Demo-Parole-2026!"  # noqa: S105 — the one documented demo password
# Administrators and signatories must use two-factor authentication; the demo gives them an
# authenticator with this published secret (add it to any authenticator app, or let
# `dagr demo --two-factor-code` print the current code). Demo data only.
DEMO_TOTP_SECRET = "DAGRDEMODAGRDEMODAGRDEMODAGRDEMO"  # noqa: S105 — published on purpose
EMAIL_DOMAIN = "dagr.example"

Role = Membership.Role
Kind = Institution.Kind


def _registration_number(serial: int) -> str:
    """The first valid registration number ``9000…`` from ``serial`` on."""
    while (code := make_company_code(serial, prefix="9000")) is None:
        serial += 1
    return code


# key, name, short name, kind, registration number serial
INSTITUTIONS: tuple[tuple[str, str, str, str, int], ...] = (
    ("operator", "Datu platformas aģentūra", "DPA", Kind.BOTH, 101),
    ("population", "Iedzīvotāju reģistra pārvalde", "IRP", Kind.PROVIDER, 202),
    ("companies", "Komercreģistra dienests", "KRD", Kind.PROVIDER, 303),
    ("addresses", "Adrešu un kartogrāfijas aģentūra", "AKA", Kind.PROVIDER, 404),
    ("tax", "Nodokļu administrācija", "NA", Kind.RECIPIENT, 505),
    ("social", "Sociālo pakalpojumu aģentūra", "SPA", Kind.RECIPIENT, 606),
)

# e-mail local part, first name, last name, portal administrator, [(institution key, role)]
USERS: tuple[tuple[str, str, str, bool, tuple[tuple[str, str], ...]], ...] = (
    ("admin", "Ilze", "Kalniņa", True, (("operator", Role.SIGNATORY),)),
    (
        "signatory",
        "Māris",
        "Ozols",
        False,
        (("population", Role.SIGNATORY), ("tax", Role.SIGNATORY)),
    ),
    ("provider", "Laura", "Bērziņa", False, (("population", Role.PROVIDER),)),
    ("companies", "Edgars", "Liepiņš", False, (("companies", Role.PROVIDER),)),
    ("addresses", "Dace", "Vītola", False, (("addresses", Role.PROVIDER),)),
    ("recipient", "Kārlis", "Zariņš", False, (("tax", Role.RECIPIENT),)),
    ("recipient2", "Anna", "Krūmiņa", False, (("social", Role.RECIPIENT),)),
)

DATASET_PROVIDERS = {
    schemas.ADDRESSES["code"]: "addresses",
    schemas.PERSONS["code"]: "population",
    schemas.COMPANIES["code"]: "companies",
}


@dataclass
class DemoSizes:
    persons: int = 2000
    companies: int | None = None
    addresses: int | None = None
    seed: int = 1

    def __post_init__(self) -> None:
        if self.persons < 1:
            raise ValueError("persons must be at least 1")
        if self.companies is None:
            self.companies = max(self.persons // 10, 50)
        if self.addresses is None:
            self.addresses = max(self.persons // 2, 200)


@dataclass
class DemoReport:
    institutions: list[tuple[str, str, str, bool]] = field(default_factory=list)
    users: list[tuple[str, str, list[str], bool]] = field(default_factory=list)
    # code, live records, created, updated, unchanged, seconds, loaded (False: skipped)
    datasets: list[tuple[str, int, int, int, int, float, bool]] = field(default_factory=list)
    # the test data release the demo built (or found): (number, status, k, created now)
    test_data: tuple[int, str, int | None, bool] | None = None
    # the open data descriptions: (code, quality score of 405, published)
    open_data: list[tuple[str, int, bool]] = field(default_factory=list)
    # the shipped help articles: (created, updated, unchanged or kept)
    help_articles: tuple[int, int, int] = (0, 0, 0)


def _institutions(report: DemoReport) -> dict[str, Institution]:
    found: dict[str, Institution] = {}
    for key, name, short, kind, serial in INSTITUTIONS:
        number = _registration_number(serial)
        institution = Institution.objects.filter(registration_number=number).first()
        created = institution is None
        if institution is None:
            institution = institution_create(
                actor=SYSTEM,
                name=name,
                short_name=short,
                registration_number=number,
                kind=kind,
                email=f"info@{short.lower()}.{EMAIL_DOMAIN}",
            )
        found[key] = institution
        report.institutions.append(
            (institution.name, number, str(Kind(institution.kind).label), created)
        )
    return found


def _role_label(institution: Institution, role: str) -> str:
    return f"{Role(role).label} — {institution.short_name or institution.name}"


def _users(report: DemoReport, institutions: dict[str, Institution]) -> None:
    for local, first, last, admin, roles in USERS:
        email = f"{local}@{EMAIL_DOMAIN}"
        user = User.objects.filter(email=email).first()
        created = user is None
        if user is None:
            home = institutions[roles[0][0]]
            user = user_create(
                actor=SYSTEM,
                email=email,
                first_name=first,
                last_name=last,
                password=DEMO_PASSWORD,
                status=User.Status.ACTIVE,
                is_portal_admin=admin,
                institution=home,
                roles=[role for key, role in roles if key == roles[0][0]],
            )
        for key, role in roles:
            membership_grant(actor=SYSTEM, user=user, institution=institutions[key], role=role)
        if rules.requires_two_factor(user):
            twofactor.enrolment_with_secret(user=user, secret=DEMO_TOTP_SECRET)
        labels = [str(_role_label(institutions[key], role)) for key, role in roles]
        if admin:
            labels.insert(0, str(User._meta.get_field("is_portal_admin").verbose_name))
        report.users.append((email, DEMO_PASSWORD, labels, created))


def _datasets(institutions: dict[str, Institution]) -> dict[str, Dataset]:
    found: dict[str, Dataset] = {}
    for spec in schemas.DATASETS:
        dataset = Dataset.objects.filter(code=spec["code"]).first()
        if dataset is None:
            dataset = dataset_create(
                actor=SYSTEM,
                provider=institutions[DATASET_PROVIDERS[spec["code"]]],
                code=spec["code"],
                title_lv=spec["title_lv"],
                title_en=spec["title_en"],
                description_lv=spec["description_lv"],
                description_en=spec["description_en"],
                schema=spec["schema"],
                status=Dataset.Status.PRODUCTION,
            )
        found[spec["code"]] = dataset
    return found


def _already_loaded(dataset: Dataset, details: dict[str, Any]) -> bool:
    last = (
        Load.objects.filter(dataset=dataset, source=Load.Source.DEMO, status=Load.Status.SUCCEEDED)
        .order_by("-started_at", "-id")
        .first()
    )
    return last is not None and last.details == details


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"dagr-demo:{seed}:{name}")


def _load(
    report: DemoReport,
    dataset: Dataset,
    records: Iterator[dict[str, Any]],
    details: dict[str, Any],
    progress: Callable[[str], None],
) -> None:
    if _already_loaded(dataset, details):
        for _ in records:  # the next dataset still needs what this stream collects
            pass
        report.datasets.append((dataset.code, record_count(dataset), 0, 0, 0, 0.0, False))
        return
    progress(f"{dataset.code}: {details['size']} …")
    started = time.perf_counter()
    load = records_upsert(
        actor=SYSTEM, dataset=dataset, records=records, source=Load.Source.DEMO, details=details
    )
    seconds = time.perf_counter() - started
    report.datasets.append(
        (
            dataset.code,
            record_count(dataset),
            load.created,
            load.updated,
            load.unchanged,
            seconds,
            True,
        )
    )


def demo_create(
    *, sizes: DemoSizes, progress: Callable[[str], None] = lambda _message: None
) -> DemoReport:
    """Create (or find) the demo institutions, users and datasets, load the demo records, and
    add the demo access grants and record set."""
    report = DemoReport()
    with transaction.atomic():
        institutions = _institutions(report)
        _users(report, institutions)
        datasets = _datasets(institutions)
    _records(report, datasets, sizes, progress)
    _grants_and_record_sets(datasets[schemas.PERSONS["code"]])
    _test_data(report, list(datasets.values()), progress)
    report.open_data = open_data_describe(list(datasets.values()))
    _access_history(datasets[schemas.PERSONS["code"]], random.Random(sizes.seed))
    loaded = articles_load_shipped(actor=SYSTEM)
    report.help_articles = (
        len(loaded.created),
        len(loaded.updated),
        len(loaded.unchanged) + len(loaded.kept),
    )
    return report


# The quasi-identifiers of the demo's privacy report: birth date seen by decade, and gender.
# On the demo's 2,000 persons (born 1926–2025) each decade × gender group holds dozens of
# persons, so the release passes k = 5; the test data pages say which ones were used.
DEMO_QUASI_IDENTIFIERS = (("birth_date", "decade"), ("gender", "exact"))
DEMO_K = 5


def _test_data(
    report: DemoReport, datasets: list[Dataset], progress: Callable[[str], None]
) -> None:
    """Build and publish anonymised test data of the three demo datasets in one release (joins
    between them survive), unless a published release already shows their current data."""
    persons = next(d for d in datasets if d.code == schemas.PERSONS["code"])
    links = {
        link.source_id: link
        for link in TestDataset.objects.filter(source__in=datasets).select_related("release")
    }
    releases = {link.release_id for link in links.values()}
    if len(links) == len(datasets) and len(releases) == 1 and None not in releases:
        release = next(iter(links.values())).release
        last_load = (
            Load.objects.filter(dataset__in=datasets, status=Load.Status.SUCCEEDED)
            .exclude(created=0, updated=0, deleted=0)  # a load that changed nothing
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if (
            release is not None
            and release.status == Release.Status.PUBLISHED
            and release.published_at is not None
            and (last_load is None or last_load <= release.published_at)
        ):
            report.test_data = (release.number, release.status, release.report.get("k"), False)
            return
    settings_update(
        actor=SYSTEM,
        dataset=persons,
        rules={},
        quasi_identifiers=[
            {"dataset": persons.code, "path": path, "level": level}
            for path, level in DEMO_QUASI_IDENTIFIERS
        ],
        sensitive=[],
        k=DEMO_K,
    )
    progress("test data …")
    release = release_request(actor=SYSTEM, datasets=datasets, k=DEMO_K, enqueue=False)
    release = release_build(release_id=release.pk)
    report.test_data = (release.number, release.status, release.report.get("k"), True)


def _records(
    report: DemoReport,
    datasets: dict[str, Dataset],
    sizes: DemoSizes,
    progress: Callable[[str], None],
) -> None:
    assert sizes.addresses is not None and sizes.companies is not None
    base = {"generator": GENERATOR_VERSION, "seed": sizes.seed}
    address_details = {**base, "size": sizes.addresses}
    person_details = {**base, "size": sizes.persons, "addresses": sizes.addresses}
    company_details = {**person_details, "size": sizes.companies, "persons": sizes.persons}
    companies_ds = datasets[schemas.COMPANIES["code"]]
    persons_ds = datasets[schemas.PERSONS["code"]]
    addresses_ds = datasets[schemas.ADDRESSES["code"]]
    need_persons = not (
        _already_loaded(companies_ds, company_details)
        and _already_loaded(persons_ds, person_details)
    )

    if not need_persons and _already_loaded(addresses_ds, address_details):
        for dataset in (addresses_ds, persons_ds, companies_ds):
            report.datasets.append((dataset.code, record_count(dataset), 0, 0, 0, 0.0, False))
        return
    buildings, addresses = generators.collect_codes(
        generators.generate_addresses(_rng(sizes.seed, "addresses"), sizes.addresses)
    )
    _load(report, addresses_ds, addresses, address_details, progress)
    if not need_persons:
        for code in (persons_ds.code, companies_ds.code):
            report.datasets.append((code, record_count(datasets[code]), 0, 0, 0, 0.0, False))
        return
    adults, persons = generators.adult_sample(
        _rng(sizes.seed, "board"),
        generators.generate_persons(_rng(sizes.seed, "persons"), sizes.persons, buildings),
        max(sizes.companies * 3, 100),
    )
    _load(report, persons_ds, persons, person_details, progress)
    companies = generators.generate_companies(
        _rng(sizes.seed, "companies"), sizes.companies, adults, buildings
    )
    _load(report, companies_ds, companies, company_details, progress)


DEMO_PERMISSION = "DEMO-ATL-2026-001"
HISTORY_DAYS = 21
DEMO_RECORD_SET = "Uzraudzītās personas (demo)"


def _grants_and_record_sets(persons: Dataset) -> None:
    """A tax administration grant to adult residents' basic data (with a record set watching a
    few of them), and a social insurance request still waiting for the provider — so the
    recipient and provider pages of the demo have something to show. Idempotent."""

    tax = User.objects.get(email=f"recipient@{EMAIL_DOMAIN}")
    social = User.objects.get(email=f"recipient2@{EMAIL_DOMAIN}")
    provider = User.objects.get(email=f"provider@{EMAIL_DOMAIN}")
    tax_institution = tax.memberships.get(role=Role.RECIPIENT).institution
    social_institution = social.memberships.get(role=Role.RECIPIENT).institution
    with transaction.atomic():
        grant = Grant.objects.filter(dataset=persons, permission_number=DEMO_PERMISSION).first()
        if grant is None:
            grant = grant_approve(
                actor=provider,
                grant=grant_request(
                    actor=tax,
                    recipient=tax_institution,
                    dataset=persons,
                    fields=["personal_code", "first_name", "last_name", "birth_date",
                            "declared_address_code"],
                    conditions=[
                        {"field": "birth_date", "op": "older_than", "value": {"years": 18}},
                    ],
                    legal_basis="Likuma “Par nodokļiem un nodevām” 18. pants",
                    purpose="Nodokļu maksātāju identificēšana",
                ),
                permission_number=DEMO_PERMISSION,
            )  # fmt: skip
        if not Grant.objects.filter(recipient=social_institution, dataset=persons).exists():
            grant_request(
                actor=social,
                recipient=social_institution,
                dataset=persons,
                fields=["personal_code", "first_name", "last_name"],
                legal_basis="Likuma “Par valsts sociālo apdrošināšanu” 5. pants",
                purpose="Sociālās apdrošināšanas iemaksu uzskaite",
            )
        if not RecordSet.objects.filter(grant=grant, name=DEMO_RECORD_SET).exists():
            record_set = record_set_create(
                actor=tax,
                institution_id=tax_institution.pk,
                dataset_code=persons.code,
                permission_number=DEMO_PERMISSION,
                name=DEMO_RECORD_SET,
                identifier_field="personal_code",
            )
            keys = list(
                Record.objects.filter(dataset=persons, deleted_at__isnull=True)
                .order_by("id")
                .values_list("key", flat=True)[:25]
            )
            record_set_identifiers_change(actor=tax, record_set=record_set, add=keys)


def _access_history(persons: Dataset, rng: random.Random) -> None:
    """Three weeks of generated data requests under the demo grant (the statistics pages show
    them once the worker has folded them in), written through the audit's bulk path; a request
    waiting for approval adds a few refusals. Only when the grant has no access history yet."""
    grant = Grant.objects.filter(dataset=persons, permission_number=DEMO_PERMISSION).first()
    if grant is None or AccessEntry.objects.filter(grant_id=grant.pk).exists():
        return
    keys = list(
        Record.objects.filter(dataset=persons, deleted_at__isnull=True).values_list(
            "key", flat=True
        )[:500]
    )
    waiting = Grant.objects.filter(dataset=persons).exclude(pk=grant.pk).first()
    now = timezone.now()
    start = now - timedelta(days=HISTORY_DAYS)
    operations = ["record.get"] * 6 + ["record.lookup"] * 2 + ["record.search", "record.changes"]

    def entries() -> Iterator[dict[str, Any]]:
        at = start
        while at < now:
            hour = timezone.localtime(at).hour
            busy = 8 <= hour < 18 and timezone.localtime(at).weekday() < 5
            at += timedelta(seconds=rng.expovariate(1 / (40 if busy else 400)))
            if at >= now:  # never in the future: the statistics fold only settled entries
                return
            operation = rng.choice(operations)
            roll = rng.random()
            outcome, status = (
                ("ok", 200) if roll < 0.93 else ("not_found", 404) if roll < 0.98
                else ("invalid", 400) if roll < 0.995 else ("error", 500)
            )  # fmt: skip
            lookup = operation == "record.lookup"
            asked = rng.sample(keys, k=min(len(keys), 20 if lookup else 1))
            served = len(asked) if outcome == "ok" else 0
            yield {
                "at": at, "operation": operation, "outcome": outcome, "status_code": status,
                "dataset_id": persons.pk, "dataset_code": persons.code,
                "institution_id": grant.recipient_id, "grant_id": grant.pk,
                "permission_number": grant.permission_number, "actor_label": "demo",
                "identifiers": asked, "records_returned": served,
                "duration_ms": rng.lognormvariate(1.2, 0.6) * (3 if lookup else 1),
            }  # fmt: skip
            if waiting is not None and rng.random() < 0.01:
                yield {
                    "at": at, "operation": "record.get", "outcome": "denied", "status_code": 403,
                    "dataset_id": persons.pk, "dataset_code": persons.code,
                    "institution_id": waiting.recipient_id, "actor_label": "demo",
                    "duration_ms": rng.uniform(0.5, 2),
                }  # fmt: skip

    access_entries_write_bulk(entries())
