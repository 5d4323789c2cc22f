"""A SIGKILL in the middle of an incremental hosted run, then a resume: nothing skipped, nothing
loaded twice, the cursor right. The run is a real ``dagr connectors run-now`` process on a scratch
database of the suite's backend (a SQLite file, or a fresh PostgreSQL database)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import _drop_database, _scratch_database

ROOT = Path(__file__).resolve().parents[2]
ROWS = 1000
DAGR = str(Path(sys.executable).with_name("dagr"))


def _env(url: str, var: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DAGR_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
        "DAGR_CONNECTOR_SOURCE_MODULES": "tests.connectors.sources_for_subprocess",
        "DAGR_CONNECTOR_LEASE_S": "2",
    }


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout.decode()


def _inspect(env: dict[str, str], connector_id: str) -> dict[str, Any]:
    out = _run([sys.executable, "tests/connectors/kill_helper.py", "inspect", connector_id], env)
    return json.loads(out.strip().splitlines()[-1])


def test_sigkill_mid_run_then_resume_skips_and_duplicates_nothing(tmp_path: Path) -> None:
    url, admin = _scratch_database(tmp_path)
    env = _env(url, tmp_path / "var")
    try:
        _run([DAGR, "migrate", "--verbosity", "0"], env)
        connector_id = (
            _run([sys.executable, "tests/connectors/kill_helper.py", "setup", str(ROWS)], env)
            .strip()
            .splitlines()[-1]
        )
        process = subprocess.Popen(
            [DAGR, "connectors", "run-now", connector_id],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            seen = _inspect(env, connector_id)
            if (seen["state"].get("cursor") or {}).get("value", 0) >= 300:
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        killed = _inspect(env, connector_id)
        cursor = killed["state"]["cursor"]["value"]
        assert 300 <= cursor < ROWS, "killed in the middle"
        # what is committed is exactly what the cursor covers
        assert sorted(killed["keys"]) == [f"P{i:06d}" for i in range(1, cursor + 1)]
        assert killed["runs"] == [["running", ""]]

        time.sleep(2.5)  # the killed run's claim runs out (DAGR_CONNECTOR_LEASE_S=2)
        _run([DAGR, "connectors", "run-now", connector_id], env)
        done = _inspect(env, connector_id)
        assert sorted(done["keys"]) == [f"P{i:06d}" for i in range(1, ROWS + 1)]  # none skipped
        assert done["changes"] == ["created"] * ROWS  # none loaded twice
        assert done["state"]["cursor"] == {"type": "integer", "value": ROWS}
        assert done["runs"] == [["failed", "abandoned"], ["succeeded", ""]]
    finally:
        if admin:
            _drop_database(admin, url)
