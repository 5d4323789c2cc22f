"""The agent's command: ``dagr sync …`` and ``dagr connector run --config connector.yaml``.

Installed as ``dagr`` and ``dagr-agent`` by the ``dagr-agent`` distribution; in the server's
install the server's ``dagr`` (``dagr.cli``) delegates ``sync`` and ``connector`` here, so both
commands behave the same in both installs.
"""

from __future__ import annotations

import sys

USAGE = """usage: dagr {sync,connector} ...

  dagr sync --config sync.yaml [--once|--continuous] [--verbose]
      keep tables in your database in step with DAGR datasets (docs/sync.md)
  dagr connector run --config connector.yaml
      read a source and load a DAGR dataset through the provider API (docs/agent.md)
"""

COMMANDS = ("sync", "connector")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["sync"]:
        from dagr_agent.sync.cli import main as sync_main

        return sync_main(args[1:])
    if args[:1] == ["connector"]:
        from dagr_agent.connector.cli import main as connector_main

        return connector_main(args[1:])
    if args[:1] in (["-h"], ["--help"], ["help"]):
        sys.stdout.write(USAGE)
        return 0
    if args[:1] in (["--version"],):
        from dagr_agent import __version__

        sys.stdout.write(f"dagr-agent {__version__}\n")
        return 0
    sys.stderr.write(USAGE)
    return 2


if __name__ == "__main__":
    sys.exit(main())
