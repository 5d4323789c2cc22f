"""The one per-process cache of whole tables the hot paths read (grant definitions, dataset
definitions, connection states): a map loaded whole by one query, never per request.

- The map is reloaded when it is older than ``refresh_s`` seconds: a change made in another
  process takes effect here within that interval.
- ``invalidate()`` makes the next lookup reload: the process that changed the data calls it (on
  commit), so the change takes effect there at once.
- With ``miss_reload_s``, a key that is not found reloads the map early, but at most once every
  ``miss_reload_s`` seconds, so callers asking for unknown keys cannot turn every lookup into a
  query. Without it a miss answers ``None``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class RefreshedMap[K: Hashable, V]:
    def __init__(
        self,
        load: Callable[[], dict[K, V]],
        *,
        refresh_s: float,
        miss_reload_s: float | None = None,
    ) -> None:
        self._load = load
        self.refresh_s = refresh_s
        self.miss_reload_s = miss_reload_s
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._miss_reload_at = float("-inf")
        self._items: dict[K, V] = {}
        self.loads = 0  # how many times the map was loaded (tests and diagnostics)

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")
            self._miss_reload_at = float("-inf")

    def get(self, key: K) -> V | None:
        now = time.monotonic()
        if now - self._loaded_at > self.refresh_s:
            self._reload()
        found = self._items.get(key)
        if (
            found is None
            and self.miss_reload_s is not None
            and now - self._miss_reload_at > self.miss_reload_s
        ):
            self._miss_reload_at = now
            self._reload()
            found = self._items.get(key)
        return found

    def _reload(self) -> None:
        items = self._load()
        with self._lock:
            self._items = items
            self._loaded_at = time.monotonic()
            self.loads += 1
