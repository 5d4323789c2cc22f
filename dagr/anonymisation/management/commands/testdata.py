"""``dagr testdata build --datasets a,b,c [--k N]``: build and publish a test data release now
(the same service the worker runs), printing progress and the privacy report in Latvian and
English. Exit status: 0 published, 2 refused by the privacy check, 1 failed or not allowed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from dagr.anonymisation import selectors, services
from dagr.anonymisation.models import Release
from dagr.catalog.models import Dataset
from dagr.core.actors import SYSTEM
from dagr.core.errors import DomainError

EXIT_REFUSED = 2


def report_summary(release: Release) -> list[str]:
    """The privacy report, Latvian first, then English: the verdict with k and l, the
    quasi-identifiers, the leak proof, the records of each dataset and, when refused, the
    advice."""
    report = release.report or {}
    lines = []
    for language in ("lv", "en"):
        with translation.override(language):
            view = selectors.report_view(report)
            verdict = _("passed") if report.get("passed") else _("not passed")
            lines.append(
                _("Privacy report: %(verdict)s; k = %(k)s (required %(required)s), l = %(l)s")
                % {
                    "verdict": verdict,
                    "k": report.get("k", "—"),
                    "required": report.get("k_required", release.k),
                    "l": report.get("l") if report.get("l") is not None else "—",
                }
            )
            if view["quasi_identifiers"]:
                lines.append(
                    "  "
                    + _("quasi-identifiers: %(qis)s; %(persons)s persons in %(classes)s groups")
                    % {
                        "qis": ", ".join(
                            f"{q['dataset']}.{q['path']} ({q['level']})"
                            for q in view["quasi_identifiers"]
                        ),
                        "persons": view["persons"],
                        "classes": view["classes"],
                    }
                )
            leak = view["leak_proof"]
            if leak:
                lines.append(
                    "  "
                    + _(
                        "leak proof: %(leaks)s leaks; %(records)s records, %(cells)s cells, "
                        "%(windows)s 6-character pieces checked; %(coincidences)s chance "
                        "coincidences"
                    )
                    % {
                        "leaks": leak.get("leaks", 0),
                        "records": leak.get("records", 0),
                        "cells": leak.get("cells_checked", 0),
                        "windows": leak.get("windows_checked", 0),
                        "coincidences": leak.get("coincidences", 0),
                    }
                )
            for dataset in view["datasets"]:
                totals = "; ".join(f"{name}: {n}" for name, n in dataset["totals"])
                lines.append(
                    "  "
                    + _("%(code)s: %(records)s records; values — %(totals)s")
                    % {"code": dataset["code"], "records": dataset["records"], "totals": totals}
                )
            for problem in view["problems"]:
                lines.append(f"  ! {problem}")
            if not report.get("passed"):
                lines += [f"  - {advice}" for advice in view["advice"]]
    return lines


class Command(BaseCommand):
    help = "Build anonymised test data: `dagr testdata build --datasets a,b,c [--k N]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        build = sub.add_parser("build", help="build and publish one release of the datasets")
        build.add_argument("--datasets", required=True, help="dataset codes, comma-separated")
        build.add_argument("--k", type=int, default=None, help="required k (default: settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        codes = [c.strip() for c in options["datasets"].split(",") if c.strip()]
        found = {d.code: d for d in Dataset.objects.filter(code__in=codes).select_related("schema")}
        missing = [c for c in codes if c not in found]
        if missing:
            raise CommandError(_("No such dataset: %(codes)s") % {"codes": ", ".join(missing)})
        try:
            release = services.release_request(
                actor=SYSTEM, datasets=[found[c] for c in codes], k=options["k"], enqueue=False
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            _("Release #%(n)s: %(codes)s") % {"n": release.number, "codes": ", ".join(codes)}
        )
        release = services.release_build(release_id=release.pk, on_progress=self._progress)
        for line in report_summary(release):
            self.stdout.write(line)
        if release.status == Release.Status.PUBLISHED:
            self.stdout.write(self.style.SUCCESS(_("Published.")))
            return
        if release.status == Release.Status.REFUSED:
            raise CommandError(
                _("Refused by the privacy check: nothing was published."), returncode=EXIT_REFUSED
            )
        raise CommandError(_("Failed: %(error)s") % {"error": release.error or release.status})

    def _progress(self, release: Release) -> None:
        self.stdout.write(f"  {release.done:,} / {release.total:,}")
