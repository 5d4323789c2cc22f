"""The ``dagr`` console command: Django's management commands with DAGR's settings.

``dagr demo``, ``dagr serve``, ``dagr worker``, ``dagr migrate``, ``dagr createadmin`` … —
``dagr help`` lists them all.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["sync"]:  # the recipient sync connector runs without Django (docs/sync.md)
        from dagr.sync.cli import main as sync_main

        return sync_main(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["dagr", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
