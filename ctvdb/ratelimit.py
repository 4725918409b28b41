"""The API's rate limit (issue 16): a token bucket per API token, in memory, per process.

Each token's bucket holds `per_minute` requests and refills at `per_minute` a minute (one every
60 / per_minute seconds), so a token may send a minute's worth at once and then keeps to the
rate. An empty bucket is a 429 whose Retry-After says in how many seconds the next request is
allowed. The buckets live in the process: with `--workers N` each uvicorn worker keeps its own,
so a token gets at most N times the rate. A workbook refresh is a handful of requests; the
limit is there for a runaway script, not for people.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBuckets:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_buckets: int = 10_000):
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: dict[str, tuple[float, float]] = {}     # key -> (requests left, when counted)
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: float) -> float:
        """Count one request of `key`: 0 when it may go on, else the seconds until one may."""
        if per_minute <= 0:
            return 0.0
        now, rate = self.clock(), per_minute / 60.0
        with self._lock:
            left, then = self._buckets.get(key, (per_minute, now))
            left = min(per_minute, left + (now - then) * rate)
            if left >= 1:
                self._buckets[key] = (left - 1, now)
                return 0.0
            self._buckets[key] = (left, now)
            if len(self._buckets) > self.max_buckets:   # forget the fullest: they lose nothing
                for full in [k for k, (n, _) in self._buckets.items() if n >= per_minute - 1][:1000]:
                    del self._buckets[full]
            return (1 - left) / rate

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


def retry_after(seconds: float) -> str:
    """The Retry-After header's whole seconds, rounded up (never 0: that would say "now")."""
    return str(max(1, math.ceil(seconds)))


# The buckets of this process, by token name.
API = TokenBuckets()
