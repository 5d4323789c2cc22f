"""The preview predicts exactly what the load then does: created / changed / unchanged /
deleted, including a key repeated in the file, a deleted record that comes back, a snapshot, and
the loader's length limit on keys."""

from __future__ import annotations

import random

import pytest

from dagr.core.actors import SYSTEM
from dagr.core.errors import ValidationError
from dagr.records.models import Record
from dagr.records.services import records_delete, records_upsert
from dagr.uploads.models import UploadedFile
from tests.factories import make_dataset

from .conftest import GOOD, person_csv

pytestmark = pytest.mark.django_db


def counts_of(preview):
    return tuple(preview[k] for k in ("created", "changed", "unchanged", "deleted"))


def counts_of_load(load):
    return (load.created, load.updated, load.unchanged, load.deleted)


def seed(dataset, rows):
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[{"personal_code": c, "last_name": n} for c, n in rows],
    )


@pytest.mark.parametrize("mode", ["upsert", "snapshot"])
def test_repeated_keys_and_a_returning_record_are_counted_like_the_load(
    world, receive, confirm, mode
):
    _p, user, dataset = world
    seed(dataset, [(GOOD[0], "A"), (GOOD[1], "B"), (GOOD[2], "C"), (GOOD[3], "D")])
    records_delete(actor=SYSTEM, dataset=dataset, keys=[GOOD[2]])
    rows = [
        (GOOD[0], "X", ""),  # stored A: changed
        (GOOD[0], "A", ""),  # back to A: changed again (compared with the row before)
        (GOOD[1], "B", ""),  # unchanged
        (GOOD[1], "B", ""),  # unchanged again
        (GOOD[2], "C", ""),  # deleted earlier: created
        ("32000000051", "N", ""),  # new: created
        ("32000000051", "N", ""),  # the same again: unchanged
        ("32000000068", "M", ""),  # new: created
        ("32000000068", "Z", ""),  # changed within the file
    ]  # GOOD[3] is not in the file: deleted by a snapshot
    upload = receive(user, dataset, person_csv(rows), mode=mode)
    expected = (3, 3, 3, 1 if mode == "snapshot" else 0)
    assert counts_of(upload.preview) == expected
    assert confirm(user, upload).status == UploadedFile.Status.LOADED
    assert counts_of_load(upload.load) == expected


def test_random_files_preview_equals_load(world):
    """Many random files against random stored data: the preview's counts are the load's."""
    from dagr.uploads.parsing import read_rows
    from dagr.uploads.preview import preview_rows

    rng = random.Random(20261127)
    for attempt in range(12):
        dataset = make_dataset(provider=world[0], code=f"random-{attempt}")
        keys = [f"32{n:09d}" for n in rng.sample(range(10**9), 30)]
        stored = rng.sample(keys, rng.randint(0, 20))
        if stored:
            seed(dataset, [(k, rng.choice("AB")) for k in stored])
            records_delete(actor=SYSTEM, dataset=dataset, keys=rng.sample(stored, len(stored) // 4))
        rows = [(rng.choice(keys), rng.choice("ABC"), "") for _ in range(rng.randint(1, 60))]
        snapshot = rng.random() < 0.5
        data = person_csv(rows)
        import io

        preview = preview_rows(
            dataset=dataset, rows=read_rows(io.BytesIO(data), filename="f.csv"), snapshot=snapshot
        )
        load = records_upsert(
            actor=SYSTEM,
            dataset=dataset,
            records=(r for _n, r in read_rows(io.BytesIO(data), filename="f.csv")),
            mode="snapshot" if snapshot else "upsert",
            coerce=True,
            confirm_deletions=preview["deleted"] if snapshot else None,
        )
        assert counts_of(preview) == counts_of_load(load), (attempt, rows, stored)
        assert preview["received"] == load.received


def test_a_key_longer_than_the_loader_accepts_is_an_error_in_the_preview(world, receive):
    long_schema = {
        "key": "code",
        "fields": [
            {"name": "code", "title_lv": "Kods", "title_en": "Code", "type": "string",
             "required": True, "identifier": "other"},
        ],
    }  # fmt: skip
    _p, user, _d = world
    dataset = make_dataset(provider=world[0], code="codes", schema=long_schema)
    data = ("code\nshort\n" + "x" * 300 + "\n").encode()
    upload = receive(user, dataset, data)
    assert upload.status == UploadedFile.Status.INVALID
    [error] = upload.preview["errors"]
    assert (error["row"], error["field"], error["code"]) == (2, "code", "too_long")
    with pytest.raises(ValidationError):  # and the loader refuses the same row
        records_upsert(
            actor=SYSTEM, dataset=dataset, records=[{"code": "short"}, {"code": "x" * 300}]
        )
    assert not Record.objects.filter(dataset=dataset).exists()


def test_the_preview_shows_the_first_rows_as_stored_and_numbers_them(world, receive):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], " Ozola ", "1980-01-02")], ";"))
    first = upload.preview["first_rows"][0]
    assert first["row"] == 1
    assert first["data"]["personal_code"] == GOOD[0]
    assert first["data"]["birth_date"] == "1980-01-02"
    assert upload.preview["columns"] == ["personal_code", "last_name", "birth_date"]
