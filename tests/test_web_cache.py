"""The report cache: entries expire by TTL on the injected clock, the size is bounded, the lock holds."""

import threading

from ctvdb.web.cache import TTLCache


def test_entries_expire_after_their_ttl():
    now = [100.0]
    cache = TTLCache(max_items=4, clock=lambda: now[0])
    cache.put("footer", "value", ttl=300)
    now[0] += 299.9
    assert cache.get("footer") == "value"
    now[0] += 0.1
    assert cache.get("footer") is None


def test_get_or_compute_computes_once_per_key_until_expiry():
    now, calls = [0.0], []
    cache = TTLCache(max_items=4, clock=lambda: now[0])
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get_or_compute("k", 10, compute) == 1
    assert cache.get_or_compute("k", 10, compute) == 1
    assert cache.get_or_compute(("k", 2), 10, compute) == 2
    now[0] = 11
    assert cache.get_or_compute("k", 10, compute) == 3
    cache.put("none", None, 10)
    assert cache.get_or_compute("none", 10, compute) is None  # a cached None is a hit


def test_least_recently_used_entries_go_first():
    cache = TTLCache(max_items=2)
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    cache.get("a")
    cache.put("c", 3, 60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_threads_share_one_cache_safely():
    cache = TTLCache(max_items=50)

    def work(n):
        for i in range(2000):
            cache.put((n, i % 80), i, 60)
            cache.get((n, (i * 7) % 80))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 50
