"""DAGR_SITE_URL: unset, the portal's address comes from HOST and PORT (what `dagr serve` uses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def site_url(tmp_path: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in {"DAGR_SITE_URL", "HOST", "PORT"}}
    environ.update(env, DAGR_VAR_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.SITE_URL)"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_site_url_follows_port_when_unset(tmp_path: Path) -> None:
    assert site_url(tmp_path, PORT="8800") == "http://127.0.0.1:8800"
    assert site_url(tmp_path, HOST="dagr.local", PORT="9000") == "http://dagr.local:9000"
    assert site_url(tmp_path) == "http://127.0.0.1:8000"


def test_site_url_setting_wins(tmp_path: Path) -> None:
    assert site_url(tmp_path, DAGR_SITE_URL="https://dagr.example.lv", PORT="8800") == (
        "https://dagr.example.lv"
    )


def test_site_url_documented_in_readme() -> None:
    assert "`DAGR_SITE_URL`" in (ROOT / "README.md").read_text(encoding="utf-8")
