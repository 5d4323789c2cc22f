"""``dagr testdata build`` and the demo's test data release."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dagr.anonymisation.models import Release, TestDataset
from dagr.demo import schemas
from dagr.demo.services import DemoSizes, demo_create
from dagr.records.models import Record

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command("testdata", *args, stdout=out)
    return out.getvalue()


def test_build_publishes_and_prints_the_report_in_both_languages(world):
    output = run("build", "--datasets", world.dataset.code, "--k", "5")
    release = Release.objects.get()
    assert release.status == Release.Status.PUBLISHED, release.error
    assert "Privātuma pārskats: izturēts; k = 15 (vajadzīgs 5)" in output
    assert "Privacy report: passed; k = 15 (required 5)" in output
    assert "quasi-identifiers: iedzivotaji.birth_date (year); 30 persons in 2 groups" in output
    assert "leak proof: 0 leaks; 30 records" in output
    assert TestDataset.objects.filter(source=world.dataset).exists()


def test_a_refused_build_exits_with_2(world):
    with pytest.raises(CommandError) as raised:
        run("build", "--datasets", world.dataset.code, "--k", "1000")
    assert raised.value.returncode == 2
    assert Release.objects.get().status == Release.Status.REFUSED
    assert not TestDataset.objects.exists()


def test_an_unknown_dataset_exits_with_1(world):
    with pytest.raises(CommandError) as raised:
        run("build", "--datasets", f"{world.dataset.code},nav-tadas")
    assert raised.value.returncode == 1
    assert "nav-tadas" in str(raised.value)
    assert not Release.objects.exists()


def test_the_demo_publishes_test_data_of_its_three_datasets_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    sizes = {"persons": 2000, "companies": 200, "addresses": 1000, "seed": 1}  # `make run`
    report = demo_create(sizes=DemoSizes(**sizes))
    assert report.test_data is not None
    number, status, _k, created = report.test_data
    assert status == Release.Status.PUBLISHED and created
    release = Release.objects.get(number=number)
    codes = {schemas.ADDRESSES["code"], schemas.PERSONS["code"], schemas.COMPANIES["code"]}
    assert set(release.items.values_list("source__code", flat=True)) == codes
    assert {q["path"] for q in release.report["quasi_identifiers"]} == {"birth_date", "gender"}
    for link in TestDataset.objects.select_related("source", "target"):
        assert link.target.code == f"{link.source.code}-test"
        assert Record.objects.filter(dataset=link.target, deleted_at=None).count() == (
            Record.objects.filter(dataset=link.source, deleted_at=None).count()
        )
    again = demo_create(sizes=DemoSizes(**sizes))  # nothing changed: no new release
    assert again.test_data == (number, Release.Status.PUBLISHED, release.report.get("k"), False)
    assert Release.objects.count() == 1
    # the command on the demo data: the same quasi-identifiers, the report printed, exit 0
    output = run("build", "--datasets", ",".join(sorted(codes)))
    assert Release.objects.get(number=number + 1).status == Release.Status.PUBLISHED
    assert (
        "kvaziidentifikatori: demo-population-register.birth_date (desmitgade), "
        "demo-population-register.gender (precīza vērtība); 2000 personas" in output
    )
    assert "quasi-identifiers: demo-population-register.birth_date (decade)" in output
    assert "leak proof: 0 leaks; 3200 records" in output
    assert "demo-population-register: 2000 records" in output
