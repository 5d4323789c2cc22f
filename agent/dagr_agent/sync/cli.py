"""``dagr sync --config sync.yaml [--once|--continuous] [--verbose]`` (also
``python -m dagr_agent.sync``). Runs without Django. Exit status: 0 done (or stopped by
SIGTERM/SIGINT), 1 a dataset failed, 2 a configuration error."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from .client import SyncError
from .config import ConfigError, config_load

log = logging.getLogger("dagr.sync")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagr sync",
        description="Keep tables in your database in step with DAGR datasets (docs/sync.md).",
    )
    parser.add_argument("--config", required=True, help="the sync.yaml file")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--once", action="store_true", help="follow every feed to its end, then exit (default)"
    )
    mode.add_argument(
        "--continuous",
        action="store_true",
        help="repeat every interval_seconds until SIGTERM/SIGINT",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="a line per page")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    log.propagate = False

    try:
        config = config_load(args.config)
        secret = config.dagr.secret()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2

    # only for a valid configuration: the HTTP client and SQLAlchemy load for a real run
    from .client import Client
    from .runner import Runner

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal: stop now (the open transaction rolls back)
            raise KeyboardInterrupt
        log.info("%s: finishing the current page, then stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        runner = Runner(config, stop=stop, client=Client(config.dagr, secret, stop=stop))
    except SyncError as exc:
        log.error("%s", exc)
        return 2
    try:
        if args.continuous:
            runner.run_continuous()
            return 0
        results = runner.run_once()
        return 1 if any(r.error for r in results) else 0
    finally:
        runner.close()


if __name__ == "__main__":
    sys.exit(main())
