"""``dagr audit verify`` checks both audit trails (keyed chains, heads, signed checkpoints; exit
status 1 on any problem); ``dagr audit checkpoint`` writes a signed checkpoint of every chain
head, or prints the latest (``--export``) or the public key (``--public-key``); ``dagr audit
index-subjects`` brings the subject index up to date now (what the worker does periodically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from dagr.audit.integrity import audit_verify, checkpoint_export, checkpoint_write, public_key_pem
from dagr.audit.subjects import index_lag, subject_index_run


class Command(BaseCommand):
    help = (
        "Audit tools. `dagr audit verify` checks the audit chains against the latest signed "
        "checkpoint; `dagr audit checkpoint` records one (--export prints it); "
        "`dagr audit index-subjects` indexes the subjects of the entries written since the "
        "worker's last run."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify", "checkpoint", "index-subjects"])
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="verify: only the entries after the last verified state",
        )
        parser.add_argument(
            "--against", metavar="FILE", help="verify: compare with this exported checkpoint"
        )
        parser.add_argument(
            "--export", action="store_true", help="checkpoint: print the latest signed one"
        )
        parser.add_argument(
            "--public-key", action="store_true", help="checkpoint: print the public key (PEM)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "checkpoint":
            self._checkpoint(options)
        elif options["action"] == "index-subjects":
            self._index_subjects()
        else:
            self._verify(options)

    def _checkpoint(self, options: dict[str, Any]) -> None:
        if options["public_key"]:
            self.stdout.write(public_key_pem().rstrip())
            return
        if options["export"]:
            exported = checkpoint_export()
            if exported is None:
                raise CommandError(_("No checkpoint exists yet (run `dagr audit checkpoint`)."))
            self.stdout.write(orjson.dumps(exported, option=orjson.OPT_INDENT_2).decode())
            return
        item = checkpoint_write()
        assert item is not None
        heads = item["heads"]
        self.stdout.write(
            self.style.SUCCESS(
                _("Checkpoint #%(n)s written: %(heads)s chains, %(entries)s entries.")
                % {
                    "n": item["number"],
                    "heads": len(heads),
                    "entries": sum(h["count"] for h in heads),
                }
            )
        )

    def _index_subjects(self) -> None:
        run = subject_index_run()
        waiting, _top = index_lag()
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Subject index: %(entries)s entries with %(subjects)s subjects indexed, up to "
                    "entry #%(to)s; %(waiting)s entries not yet indexed."
                )
                % {
                    "entries": run.entries,
                    "subjects": run.subjects,
                    "to": run.indexed_to,
                    "waiting": waiting,
                }
            )
        )

    def _verify(self, options: dict[str, Any]) -> None:
        against = None
        if options["against"]:
            try:
                against = orjson.loads(Path(options["against"]).read_bytes())
                if not isinstance(against, dict):
                    raise ValueError(_("not an exported checkpoint"))
            except (OSError, ValueError) as exc:
                raise CommandError(
                    _("Cannot read the checkpoint file %(path)s: %(error)s")
                    % {"path": options["against"], "error": exc}
                ) from exc
        report = audit_verify(
            against=against, incremental=options["incremental"], record=options["incremental"]
        )
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(warning))
        for problem in report.problems:
            self.stderr.write(problem.message)
        summary = _(
            "%(entries)s access entries in %(segments)s segments and %(admin)s administrative "
            "entries checked"
        ) % {
            "entries": report.entries,
            "segments": report.segments,
            "admin": report.admin_entries,
        }
        if report.checkpoint is not None:
            summary += "; " + _("compared with checkpoint #%(n)s") % {"n": report.checkpoint}
        if report.incremental_from:
            summary += "; " + _("incremental from %(at)s") % {"at": report.incremental_from}
        if not report.ok:
            raise CommandError(
                _("audit chain broken: %(n)s problems; %(summary)s")
                % {"n": len(report.problems), "summary": summary}
            )
        self.stdout.write(
            self.style.SUCCESS(_("audit chain intact: %(summary)s") % {"summary": summary})
        )
