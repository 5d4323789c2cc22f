"""``dagr connector run --config connector.yaml``: the remote runner (docs/agent.md).

Exit status: 0 done, 1 the run failed, 2 a configuration error."""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagr connector",
        description="Read a source and load a DAGR dataset through the provider API.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="one run of the connector described by a connector.yaml")
    run.add_argument("--config", required=True, help="the connector.yaml file")
    run.add_argument("--verbose", "-v", action="store_true", help="a line per batch")
    return parser


def main(argv: list[str] | None = None) -> int:
    _parser().parse_args(argv)
    sys.stderr.write("dagr connector run: not available yet in this version\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
