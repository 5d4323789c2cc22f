"""The ``dagr`` console command: Django's management commands with DAGR's settings.

``dagr demo``, ``dagr serve``, ``dagr worker``, ``dagr migrate``, ``dagr createadmin`` … —
``dagr help`` lists them all.
"""

from __future__ import annotations

import os
import sys

AGENT_COMMANDS = ("sync", "connector")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] and args[0] in AGENT_COMMANDS:
        # `dagr sync` and `dagr connector` are the agent's (the dagr-agent distribution, agent/):
        # they run without Django, the same as in the agent's own install (docs/agent.md)
        from dagr_agent.cli import main as agent_main

        return agent_main(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["dagr", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
