"""The one per-process cache of whole tables (grants, datasets, connection states)."""

import time

import pytest

from dagr.core.cache import RefreshedMap


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def _source(table: dict[str, int]) -> RefreshedMap[str, int]:
    return RefreshedMap(lambda: dict(table), refresh_s=10.0, miss_reload_s=1.0)


def test_loads_once_then_answers_from_the_map_until_the_refresh_interval(clock):
    table = {"a": 1}
    cache = _source(table)
    assert cache.get("a") == 1 and cache.loads == 1
    table["a"] = 2
    clock[0] += 10.0
    assert cache.get("a") == 1 and cache.loads == 1
    clock[0] += 0.1
    assert cache.get("a") == 2 and cache.loads == 2


def test_invalidate_reloads_at_the_next_lookup(clock):
    table = {"a": 1}
    cache = _source(table)
    cache.get("a")
    table["a"] = 2
    cache.invalidate()
    assert cache.get("a") == 2 and cache.loads == 2


def test_a_miss_reloads_early_at_most_once_per_miss_interval(clock):
    table = {"a": 1}
    cache = _source(table)
    cache.get("a")
    clock[0] += 0.5
    assert cache.get("b") is None and cache.loads == 2  # the first miss reloads
    table["b"] = 3
    clock[0] += 0.5
    assert cache.get("b") is None and cache.loads == 2  # within the miss interval: no query
    clock[0] += 0.6
    assert cache.get("b") == 3 and cache.loads == 3


def test_without_a_miss_interval_a_miss_does_not_reload(clock):
    cache: RefreshedMap[str, int] = RefreshedMap(lambda: {"a": 1}, refresh_s=5.0)
    cache.get("a")
    assert cache.get("b") is None and cache.loads == 1
