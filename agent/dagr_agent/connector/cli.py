"""``dagr connector run --config connector.yaml [--verbose]``: one run of a connector at the
provider's site (docs/agent.md). Runs without Django.

Exit status: 0 the run succeeded, 1 it failed (the portal shows why), 2 a configuration error."""

from __future__ import annotations

import argparse
import logging
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagr connector",
        description="Read a source and load a DAGR dataset through the provider API.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="one run of the connector described by a connector.yaml")
    run.add_argument("--config", required=True, help="the connector.yaml file")
    run.add_argument("--verbose", "-v", action="store_true", help="progress lines too")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log = logging.getLogger("dagr.connector")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    log.propagate = False

    from ..sync.config import ConfigError
    from .remote import settings_load

    try:
        settings = settings_load(args.config)
        secret = settings.dagr.secret()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2

    from ..sync.client import Client
    from .remote import run_remote

    client = Client(settings.dagr, secret)
    return run_remote(settings, client)


if __name__ == "__main__":
    sys.exit(main())
