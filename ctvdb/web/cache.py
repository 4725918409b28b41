"""Small, locked, module-level TTL caches shared by every request thread of a process.

Report keys include the data version (see `queries.data_version`), so a new import or
reference load makes every older entry unreachable at once; the TTL only bounds memory and
the age of the freshness footer. The clock is an attribute so tests can move time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class TTLCache:
    def __init__(self, max_items: int, clock: Callable[[], float] = time.monotonic):
        self.max_items = max_items
        self.clock = clock
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return default
            expires, value = found
            if expires <= self.clock():
                del self._items[key]
                return default
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any, ttl: float) -> None:
        with self._lock:
            self._items[key] = (self.clock() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def get_or_compute(self, key: Hashable, ttl: float, compute: Callable[[], Any]) -> Any:
        """The cached value, or `compute()` stored for `ttl` seconds.

        Computed outside the lock: two threads missing the same key at once both compute it,
        which is cheaper than making every other page wait behind one slow report.
        """
        missing = object()
        value = self.get(key, missing)
        if value is missing:
            value = compute()
            self.put(key, value, ttl)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# Report data and rendered report bodies, keyed by (database, data version, endpoint, arguments).
# The largest (customer revenue at 300 customers) holds about 0.5 MB of data and HTML.
REPORTS = TTLCache(max_items=256)
# The freshness footer's "last completed import", keyed by database; five minutes by default.
FOOTER = TTLCache(max_items=16)
