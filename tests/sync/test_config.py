"""The configuration file and the command line (no Django needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dagr_agent.sync.config import ConfigError, config_load, config_parse, default_table_name

ROOT = Path(__file__).resolve().parents[2]


def base(**extra: object) -> dict:
    return {
        "dagr": {"url": "https://dagr.example/", "client_id": "rcp_1",
                 "client_secret_env": "MY_SECRET"},
        "target": {"url": "sqlite:///x.sqlite3"},
        "datasets": [{"code": "demo-population-register", "permission_number": "P-1"}],
        **extra,
    }  # fmt: skip


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_parse(base())
    ds = config.datasets[0]
    assert ds.table_name == "demo_population_register" and ds.page_size == 5000
    assert config.dagr.resolved_token_url == "https://dagr.example/api/v1/oauth/token"
    assert config.interval_seconds == 300
    monkeypatch.setenv("MY_SECRET", "s3cret")
    assert config.dagr.secret() == "s3cret"
    monkeypatch.delenv("MY_SECRET")
    with pytest.raises(ConfigError, match="MY_SECRET"):
        config.dagr.secret()
    assert default_table_name("9-lives.Data") == "t_9_lives_data"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["dagr"].update(client_secret="x"), "exactly one"),
        (lambda c: c["datasets"][0].update(page_size=0), "page_size"),
        (lambda c: c["datasets"][0].update(table="Bad Name"), "table"),
        (lambda c: c["datasets"].append(dict(c["datasets"][0])), "only once"),
        (lambda c: c.update(surprise=1), "surprise"),
    ],
)
def test_invalid(change, message: str) -> None:
    config = base()
    change(config)
    with pytest.raises(ConfigError, match=message):
        config_parse(config)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        config_load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dagr: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config_load(bad)


def test_dagr_sync_runs_without_django(tmp_path: Path) -> None:
    code = (
        "import sys; from dagr.cli import main; "
        f"rc = main(['sync', '--config', {str(tmp_path / 'none.yaml')!r}]); "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'config')], "
        "'django imported'; "
        "assert not [m for m in sys.modules if m.startswith('dagr.') "
        "and m != 'dagr.cli'], 'server app imported'; "
        "sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "cannot read" in result.stderr
