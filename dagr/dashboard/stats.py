"""Pure arithmetic of the latency histogram (no database): which bucket a duration falls in,
and percentiles from bucket counts."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from .models import BUCKET_BOUNDS_MS


def bucket_index(ms: float) -> int:
    """The bucket of a duration: the first whose upper bound is ≥ ``ms`` (the last bucket holds
    everything above the highest bound)."""
    return bisect_left(BUCKET_BOUNDS_MS, ms)


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0–1) from bucket counts, interpolated linearly inside its bucket (the
    last, open bucket reports its lower bound). ``None`` when there is nothing to measure."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            low = BUCKET_BOUNDS_MS[i - 1] if i else 0.0
            if i >= len(BUCKET_BOUNDS_MS):
                return float(low)
            high = BUCKET_BOUNDS_MS[i]
            return round(low + (high - low) * max(rank - seen, 0) / n, 2)
        seen += n
    return float(BUCKET_BOUNDS_MS[-1])
