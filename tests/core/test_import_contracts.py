"""The app-layers contract (pyproject.toml, checked by `lint-imports` in `make lint`) must name
every app, and every module of accounts: a module it does not name is not checked at all."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import dagr
import dagr.accounts

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_LAYERS = {"cli"}  # the console entry point above everything (it starts sync or Django)


def layer_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [contract] = [c for c in config["contracts"] if c["id"] == "app-layers"]
    names: set[str] = set()
    for layer in contract["layers"]:
        names.update(name.strip(" ()") for name in layer.replace("|", ":").split(":"))
    return names


def test_every_app_is_in_a_layer() -> None:
    named = layer_modules()
    apps = {m.name for m in pkgutil.iter_modules(dagr.__path__)} - NOT_IN_LAYERS
    missing = sorted(
        f"dagr.{app}"
        for app in apps
        if f"dagr.{app}" not in named and not any(n.startswith(f"dagr.{app}.") for n in named)
    )
    assert not missing, f"add these apps to the app-layers contract in pyproject.toml: {missing}"


def test_every_module_of_accounts_is_in_a_layer() -> None:
    named = layer_modules()
    own = {"apps", "migrations"}  # no imports of other DAGR apps: Django's glue
    modules = {m.name for m in pkgutil.iter_modules(dagr.accounts.__path__)} - own
    missing = sorted(f"dagr.accounts.{m}" for m in modules if f"dagr.accounts.{m}" not in named)
    assert not missing, (
        "accounts is split around permissions in the app-layers contract (pyproject.toml); "
        f"name these modules in one of its accounts layers: {missing}"
    )
