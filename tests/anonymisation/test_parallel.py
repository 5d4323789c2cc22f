"""The transform in worker processes gives the output and the report of the run in one process,
and nothing of the output depends on the order in which records are transformed."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from django.core.files.storage import default_storage

from dagr.anonymisation import engine, services
from dagr.anonymisation.engine import (
    DatasetInput,
    PrivacySettings,
    QuasiIdentifier,
    ReleaseSpec,
    build_release,
)
from dagr.anonymisation.models import Release
from dagr.anonymisation.rules import Rule, default_rules
from dagr.catalog.schema import parse_schema
from dagr.core import identifiers
from dagr.core.actors import SYSTEM
from dagr.records.services import records_upsert
from tests.anonymisation.conftest import decade_settings, persons
from tests.anonymisation.test_engine import COMP, KEY_A, PERS, _demo, _dense, _spec


@pytest.fixture(scope="module")
def dense() -> tuple[dict[str, list[dict[str, Any]]], Any]:
    data, parsed = _demo()
    return _dense(data, KEY_A), parsed


def _with(spec: ReleaseSpec, **changes: Any) -> ReleaseSpec:
    return dataclasses.replace(spec, **changes)


def _run(spec: ReleaseSpec) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any], list[int]]:
    out: list[tuple[str, dict[str, Any]]] = []
    done: list[int] = []
    report = build_release(spec, lambda code, record: out.append((code, record)), done.append)
    return out, report.as_json(), done


@pytest.mark.parametrize("joined", [False, True], ids=["one-dataset-qis", "joined-qis"])
def test_workers_give_the_output_and_report_of_one_process(
    dense: Any, joined: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the dense demo (displaced codes walked to the next free one), with nested lists
    (board members), address codes replaced, birth dates shifted inside the month and other
    dates shifted by days (also inside the nested list), and chunks that end in the middle of a
    dataset: every output record, its order, the progress calls and the whole report equal."""
    data, parsed = dense
    rules = {
        PERS: default_rules(parsed[PERS]) | {"citizenship": Rule(kind="mask")},
        COMP: default_rules(parsed[COMP])
        | {
            "registration_date": Rule(kind="date_shift", params={"days": 30}),
            "board_members.since": Rule(kind="date_shift", params={"days": 10}),
        },
    }
    again = "persons-again"  # every third person once more, in a dataset of its own
    qis = (
        (
            QuasiIdentifier(PERS, "gender"),
            QuasiIdentifier(PERS, "declared_address_code", "territory"),
            QuasiIdentifier(again, "birth_date", "decade"),
        )
        if joined
        else None
    )
    spec = _spec(data, parsed, KEY_A, rules=rules, qis=qis)
    n_records = sum(len(records) for records in data.values())
    if joined:  # quasi-identifiers and sensitive fields joined by person across two datasets
        extra = data[PERS][::3]
        n_records += len(extra)
        spec = _with(
            spec,
            datasets=(
                *spec.datasets,
                DatasetInput(
                    code=again,
                    schema=parsed[PERS],
                    rules=rules[PERS],
                    records=lambda: iter(extra),
                    count=len(extra),
                ),
            ),
            privacy=PrivacySettings(
                quasi_identifiers=spec.privacy.quasi_identifiers,
                sensitive=((again, "citizenship"), (PERS, "gender")),
                k=1,
            ),
        )
    serial = _run(spec)
    monkeypatch.setattr(engine, "CHUNK", 97)  # many chunks, none on a dataset's boundary
    monkeypatch.setattr(engine, "_RANGE", 500)  # the pre-pass's bijections in workers too
    parallel = _run(_with(spec, workers=2))
    assert parallel[0] == serial[0]
    assert parallel[2] == serial[2]
    assert parallel[1] == serial[1]

    # the release does exercise what the test is about
    report = serial[1]
    assert report["identifiers"]["personal_codes_displaced"] > 50
    assert report["identifiers"]["company_codes_displaced"] > 10
    assert report["leak_proof"]["leaks"] == 0 and report["leak_proof"]["records"] == len(serial[0])
    assert len(serial[0]) == n_records
    assert len(serial[2]) > 1  # progress calls in the middle
    persons = [r for code, r in serial[0] if code == PERS]
    originals = data[PERS]
    assert (
        sum(
            p.get("declared_address_code") != o.get("declared_address_code")
            for p, o in zip(persons, originals, strict=True)
        )
        > 100
    )
    assert (
        sum(p["birth_date"] != o["birth_date"] for p, o in zip(persons, originals, strict=True))
        > 100
    )
    companies = [r for code, r in serial[0] if code == COMP]
    members = [m for c in companies for m in c["board_members"]]
    assert len(members) > len(companies)
    before = [m for c in data[COMP] for m in c["board_members"]]
    assert all(m["since"] != b["since"] for m, b in zip(members, before, strict=True))
    if joined:  # the joined per-person rows (the merge of the workers' rows is tested)
        assert report["persons"] == len({p["personal_code"] for p in originals})
        assert report["l"] == 1  # persons not in the second dataset: citizenship unknown


def _vat_schema() -> Any:
    def field(name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "title_lv": name, "title_en": name, "type": "string", **extra}

    return parse_schema(
        {
            "key": "registration_number",
            "fields": [
                field("registration_number", required=True, identifier="company_code"),
                field("pvn", personal=True),
            ],
        }
    )


def test_irregular_vat_numbers_do_not_depend_on_the_order_of_the_records() -> None:
    """A VAT number that is neither a company number nor a personal code gets a number of the
    irregular path, whose collisions are resolved in the order met: the pre-pass fixes them in
    sorted order, so the records in reverse order (or in chunks of workers) give the same."""
    schema = _vat_schema()
    assert default_rules(schema)["pvn"].params.get("generator") == "vat"
    numbers = [
        n
        for n in (
            identifiers.make_company_code(i * 7919 % 10**6, prefix="4000") for i in range(4000)
        )
        if n is not None
    ][:3000]
    # 3,000 irregular numbers in a space of ~900,000: a few meet the same first attempt
    records = [
        {"registration_number": n, "pvn": f"LV{i // 3:05d}{'X' * (i % 3)}"}
        for i, n in enumerate(numbers)
    ]

    def release(items: list[dict[str, Any]], workers: int = 1) -> dict[str, str]:
        spec = ReleaseSpec(
            key=KEY_A,
            datasets=(
                DatasetInput(
                    code="vat",
                    schema=schema,
                    rules=default_rules(schema),
                    records=lambda: iter(items),
                    count=len(items),
                ),
            ),
            privacy=PrivacySettings(quasi_identifiers=(), k=1),
            workers=workers,
        )
        out: list[dict[str, Any]] = []
        build_release(spec, lambda _code, record: out.append(record), lambda _done: None)
        return {original["pvn"]: after["pvn"] for original, after in zip(items, out, strict=True)}

    forward = release(records)
    assert len(set(forward.values())) == len(forward) == 3000
    assert all(v.startswith("LV4999") for v in forward.values())  # the irregular prefix
    assert release(records[::-1]) == forward
    assert release(records, workers=2) == forward


def test_the_pre_pass_reads_only_the_identifier_fields_when_it_can(dense: Any) -> None:
    """``partial_records``: the pre-pass asks for the top-level fields holding personal codes
    and company numbers only, and the release is the one of whole records."""
    data, parsed = dense
    spec = _spec(data, parsed, KEY_A)
    asked: dict[str, tuple[str, ...]] = {}

    def partial(code: str) -> Any:
        def read(names: tuple[str, ...]) -> Any:
            asked[code] = names
            return ({n: r[n] for n in names if n in r} for r in data[code])

        return read

    datasets = tuple(
        dataclasses.replace(ds, partial_records=partial(ds.code)) for ds in spec.datasets
    )
    assert _run(_with(spec, datasets=datasets)) == _run(spec)
    assert asked == {PERS: ("personal_code",), COMP: ("registration_number", "board_members")}


@pytest.mark.parametrize("workers", [1, 2])
def test_ndjson_output_of_json_texts_is_the_bytes_a_sink_would_write(
    dense: Any, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``raw_records`` (the records' JSON text, parsed where they are transformed) and the
    ``ndjson`` output (lines made there — in the workers, never pickled back): per dataset the
    bytes of ``orjson.dumps(record) + b"\\n"`` of the records a per-record sink gets, in the same
    order, with the same progress calls and the same report."""
    data, parsed = dense
    spec = _spec(data, parsed, KEY_A)
    serial = _run(spec)
    expected: dict[str, bytes] = {}
    for code, record in serial[0]:
        expected[code] = expected.get(code, b"") + orjson.dumps(record) + b"\n"

    def texts(code: str) -> Any:
        stored = [orjson.dumps(r).decode() for r in data[code]]
        return lambda: iter(stored)

    def no_records() -> Any:
        raise AssertionError("the transform reads the texts")

    pre_pass = {ds.code: ds.records for ds in spec.datasets}
    read = dict.fromkeys(pre_pass, 0)

    def counted(code: str) -> Any:  # the pre-pass reads the records once, the transform never
        def records() -> Any:
            read[code] += 1
            if read[code] > 1:
                no_records()
            return pre_pass[code]()

        return records

    raw_spec = _with(
        spec,
        datasets=tuple(
            dataclasses.replace(ds, raw_records=texts(ds.code), records=counted(ds.code))
            for ds in spec.datasets
        ),
        workers=workers,
    )
    monkeypatch.setattr(engine, "CHUNK", 97)
    monkeypatch.setattr(engine, "_RANGE", 500)
    got: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    done: list[int] = []

    def ndjson(code: str, lines: bytes, n: int) -> None:
        assert lines.count(b"\n") == n
        got[code] = got.get(code, b"") + lines
        counts[code] = counts.get(code, 0) + n

    def no_sink(_code: str, _record: Any) -> None:
        raise AssertionError("the output goes to ndjson")

    report = build_release(raw_spec, no_sink, done.append, ndjson=ndjson)
    assert got == expected
    assert counts == {code: len(data[code]) for code in data}
    assert done == serial[2] and len(done) > 1
    assert report.as_json() == serial[1]


@pytest.mark.django_db(transaction=True)
def test_the_release_build_with_workers_stores_the_same_files(
    world: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """``services.release_build`` (the worker's task, ``dagr testdata build``, the demo) with
    worker processes: the same key gives the same stored NDJSON bytes and the same report as
    the build in one process (and the workers did run)."""
    records_upsert(actor=SYSTEM, dataset=world.dataset, records=persons(400))
    services.settings_update(
        actor=world.user, dataset=world.dataset, **decade_settings(world.dataset)
    )
    monkeypatch.setattr(services.secrets, "token_bytes", lambda n: KEY_A[:n])
    monkeypatch.setattr(engine, "CHUNK", 37)
    forked: list[int] = []
    run_forked = engine._run_forked

    def spy(spec: Any, *args: Any) -> Any:
        forked.append(spec.workers)
        return run_forked(spec, *args)

    monkeypatch.setattr(engine, "_run_forked", spy)
    # Workers are forked only from a process running one thread; an earlier test of the suite
    # may have left one (a server, a pool) in this process. That rule has its own test below.
    monkeypatch.setattr(services.threading, "active_count", lambda: 1)

    def build(workers: int) -> tuple[bytes, dict[str, Any]]:
        settings.DAGR_ANONYMISATION_WORKERS = workers
        monkeypatch.setattr(services, "PARALLEL_FROM", 0 if workers > 1 else 10**9)
        requested = services.release_request(actor=world.user, datasets=[world.dataset])
        release = Release.objects.get(pk=requested.pk)
        assert release.status == Release.Status.PUBLISHED, release.error
        item = release.items.get()
        assert item.records == 400
        with default_storage.open(item.storage_path, "rb") as handle:
            return handle.read(), release.report

    one = build(1)
    assert forked == []
    two = build(2)
    assert forked == [2]
    assert two == one
    lines = one[0].splitlines()
    assert len(lines) == 400 and all(orjson.loads(line)["personal_code"] for line in lines)


def test_workers_only_from_a_process_running_one_thread(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """A fork while another thread holds a lock can hang the child: a threaded caller builds in
    its own process; a large release in a one-thread process uses the configured workers."""
    settings.DAGR_ANONYMISATION_WORKERS = 3
    large = services.PARALLEL_FROM
    monkeypatch.setattr(services.threading, "active_count", lambda: 1)
    assert services._workers(large) == 3
    assert services._workers(large - 1) == 1
    monkeypatch.setattr(services.threading, "active_count", lambda: 2)
    assert services._workers(large) == 1


def _sigterm_disposition() -> Any:
    import signal

    return signal.getsignal(signal.SIGTERM)


def test_workers_end_on_sigterm_even_when_the_parent_handles_it() -> None:
    """A process that handles SIGTERM gracefully (``dagr worker``, through ``django_tasks_db``)
    forks the pool: a worker inheriting that handler ignores the pool's ``terminate`` (SIGTERM,
    on leaving ``with``) and, blocked on the pool's queue, is waited for forever — the suite
    hung so once. The pool's workers start with SIGTERM's default action again."""
    import signal

    def graceful(signum: int, frame: Any) -> None:  # only notes it, as such handlers do
        pass

    before = signal.signal(signal.SIGTERM, graceful)
    try:
        with engine._pool(2) as pool:
            in_workers = {pool.apply(_sigterm_disposition) for _ in range(4)}
    finally:
        signal.signal(signal.SIGTERM, before)
    assert _sigterm_disposition() is before
    assert in_workers == {signal.SIG_DFL}
