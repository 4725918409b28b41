"""Summary tables the report pages read instead of scanning every spot.

`refresh_summaries(conn, months)` rebuilds the summaries of the given broadcast months from
`spots` and `spot_languages`. The import calls it inside its own transaction, after writing both,
for every month it replaced (or deleted), so a report never sees a summary that disagrees with
the spots. Anything else that changes spots or their language outcome must call it too. Migration 0003 builds
them once for a database that already holds spots.

A large import starts `Background` first: another process runs the same SELECTs for the three
big summaries over a copy of the new spots' few columns while the import writes the spots, and
refresh_summaries then stores its rows (or, if it failed, builds them in SQL as usual).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import pickle
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path

from ctvdb import db, rate_summary

log = logging.getLogger("ctvdb.import")

# Each summary is one SELECT over a broadcast month; refresh_summaries inserts its rows.
_CUSTOMER_MONTH = """
SELECT broadcast_month, customer_id, ae, revenue_type, coalesce(market_code, ''),
       count(*), total(gross_rate), total(station_net),
       count(*) FILTER (WHERE gross_rate > 0), total(gross_rate) FILTER (WHERE gross_rate > 0),
       min(gross_rate) FILTER (WHERE gross_rate > 0), max(gross_rate) FILTER (WHERE gross_rate > 0)
FROM spots
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4, 5
"""

_LANGUAGE_MONTH = """
SELECT broadcast_month, ae, coalesce(market_code, ''), coalesce(language_code, ''),
       coalesce(spot_type, ''), revenue_type, count(*), total(gross_rate), total(station_net),
       total(spot_value)
FROM spots
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4, 5, 6
"""

_CUSTOMER_CODE = """
SELECT broadcast_month, customer_id, ae, bill_code, coalesce(language_code, ''),
       count(*), total(gross_rate), total(station_net)
FROM spots
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4, 5
"""

_REVIEW_MONTH = """
SELECT s.broadcast_month, sl.status, sl.category, count(*), total(sl.high_value)
FROM spots s JOIN spot_languages sl ON sl.spot_id = s.id
WHERE s.broadcast_month = ? AND sl.needs_review = 1
GROUP BY 1, 2, 3
"""

# v20 (issue 16): the revenue sheet's rows (web/queries/revenue_sheet.py).
_CUSTOMER_LANGUAGE = """
SELECT broadcast_month, customer_id, ae, revenue_type, coalesce(market_code, ''), coalesce(language_code, ''),
       count(*), total(gross_rate), total(station_net)
FROM spots
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4, 5, 6
"""

_CUSTOMER_TOTAL = """
SELECT broadcast_month, customer_id, ae, revenue_type, sum(spots), total(gross), total(net),
       sum(positive_spots), total(positive_gross), min(min_positive), max(max_positive)
FROM customer_month_summary
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4
"""

# In refresh order: customer_total_summary is built from customer_month_summary.
SELECTS = {"customer_month_summary": _CUSTOMER_MONTH, "customer_total_summary": _CUSTOMER_TOTAL,
           "language_month_summary": _LANGUAGE_MONTH,
           "customer_code_summary": _CUSTOMER_CODE, "review_month_summary": _REVIEW_MONTH,
           "customer_language_summary": _CUSTOMER_LANGUAGE}
TABLES = {table: f"INSERT INTO {table}{select}" for table, select in SELECTS.items()}

# The summaries that read nothing but these columns of `spots`: `compute` can build them apart
# from the database, from the same SELECTs (the others read other summaries or spot_languages).
FROM_SPOTS = ("customer_month_summary", "language_month_summary", "customer_code_summary",
              "customer_language_summary")
SPOT_FIELDS = ("broadcast_month", "customer_id", "ae", "revenue_type", "market_code", "language_code",
               "spot_type", "bill_code", "gross_rate", "station_net", "spot_value",
               "time_in", "day_of_week", "air_date", "length_seconds")   # the last four: rates only
# v18, rate analysis (issue 14): rate_summary and rate_cut_summary are made in Python by
# ctvdb.rate_summary (from ctvdb.rates' rules, which need no SQL twin), from these columns.
RATE_TABLES = ("rate_summary", "rate_cut_summary")
_CUBE_AT = tuple(SPOT_FIELDS.index(name) for name in rate_summary.CUBE_FIELDS)


def refresh_summaries(conn: sqlite3.Connection, months: Iterable[int],
                      computed: dict[str, dict[int, list[tuple]]] | None = None, *, rates_too: bool = True) -> None:
    """Rebuild the summaries of `months` (YYYYMM integers). Runs in the caller's transaction.

    `computed` holds rows `compute` already built for some tables ({table: {month: rows}}),
    which are stored as they are; every other table is built here. A month with no spots left
    simply ends up with no summary rows. `rates_too=False`: the rate summaries are left to
    refresh_rate_months (the import stores them first, while the other summaries are still
    being computed).
    """
    computed = computed or {}
    for month in sorted(set(int(m) for m in months)):
        for table, insert in TABLES.items():
            conn.execute(f"DELETE FROM {table} WHERE broadcast_month = ?", (month,))
            if table in computed:
                rows = computed[table].get(month, [])
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            else:
                conn.execute(insert, (month,))
    if rates_too:
        refresh_rate_months(conn, months, computed)
    refresh_lifetimes(conn)


def refresh_rate_months(conn: sqlite3.Connection, months: Iterable[int], computed: dict | None = None) -> None:
    """Rebuild both rate summaries of `months`, from `computed` (compute_rates' answer) if given."""
    for month in sorted(set(int(m) for m in months)):
        if computed is not None and month in computed:
            rate_summary.store_computed(conn, month, computed[month])
        else:
            counts = rate_summary.cube(_spot_rows(conn, "broadcast_month = ?", (month,)))
            rate_summary.store(conn, month, counts.get(month))


def _spot_rows(conn: sqlite3.Connection, where: str, args: tuple) -> list[tuple]:
    """rate_summary.CUBE_FIELDS of the spots `where` says."""
    return conn.execute(f"SELECT {', '.join(rate_summary.CUBE_FIELDS)} FROM spots WHERE {where}", args).fetchall()


def refresh_rates(conn: sqlite3.Connection) -> None:
    """Build both rate summaries of every month from the spots (migration 0018's first build, and
    a repair). Runs in the caller's transaction."""
    conn.execute("DELETE FROM rate_summary")
    conn.execute("DELETE FROM rate_cut_summary")
    rate_summary.forget_stamps(conn)
    refresh_rate_months(conn, [r[0] for r in conn.execute("SELECT DISTINCT broadcast_month FROM spots")])


# The summaries keyed by customer: an identity change (ctvdb/customers.py) moves spots between
# customers and leaves every month's totals as they were, so only these, and only for the
# customers it touched, need rebuilding.
BY_CUSTOMER = ("customer_month_summary", "customer_total_summary", "customer_code_summary",
               "customer_language_summary")


def refresh_customers(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> None:
    """Rebuild the customer-keyed summaries of `customer_ids`, every month. Runs in the caller's
    transaction; reads the customers' spots through spots_customer_month, never the whole table."""
    ids = json.dumps(sorted(set(int(i) for i in customer_ids)))
    for table in BY_CUSTOMER:
        conn.execute(f"DELETE FROM {table} WHERE customer_id IN (SELECT value FROM json_each(?))", (ids,))
        select = SELECTS[table].replace(
            "WHERE broadcast_month = ?", "WHERE customer_id IN (SELECT value FROM json_each(?))")
        conn.execute(f"INSERT INTO {table}{select}", (ids,))
    refresh_lifetimes(conn, customer_ids)


def refresh_lifetimes(conn: sqlite3.Connection, customer_ids: Iterable[int] | None = None) -> None:
    """Rebuild customer_lifetime_summary from customer_total_summary: for `customer_ids`, or for
    every customer (a few tens of ms at 1.5 M spots, once per import)."""
    if customer_ids is None:
        conn.execute("DELETE FROM customer_lifetime_summary")
        where, args = "", ()
    else:
        ids = json.dumps(sorted(set(int(i) for i in customer_ids)))
        conn.execute("DELETE FROM customer_lifetime_summary WHERE customer_id IN (SELECT value FROM json_each(?))",
                     (ids,))
        where, args = " WHERE customer_id IN (SELECT value FROM json_each(?))", (ids,)
    conn.execute("INSERT INTO customer_lifetime_summary SELECT customer_id, sum(spots), total(gross),"
                 f" min(broadcast_month), max(broadcast_month) FROM customer_total_summary{where}"
                 " GROUP BY customer_id", args)


# The summaries fold_customers adds up where a merge makes their keys meet: (table, the key
# columns after month and customer, the figures added up).
_FOLDED = (
    ("customer_month_summary", "ae, revenue_type, market_code",
     "sum(spots), total(gross), total(net), sum(positive_spots), total(positive_gross), min(min_positive),"
     " max(max_positive)"),
    ("customer_language_summary", "ae, revenue_type, market_code, language_code",   # v20, issue 16
     "sum(spots), total(gross), total(net)"),
)


def fold_customers(conn: sqlite3.Connection, into: dict[int, int]) -> None:
    """Give every summary row of each customer in `into` to the customer it maps to: a merge of
    whole customers. The month and language summaries' rows are added up where their keys meet and the bill-code
    summary's are re-pointed (a bill code belongs to one customer, so none meet), so the figures
    are those a rebuild from the spots gives, to the cent, without reading the spots: a merge of
    the largest customer reads tens of rows instead of tens of thousands of spots."""
    pairs = json.dumps([[int(old), int(new)] for old, new in into.items()])
    ids = json.dumps(sorted({int(i) for pair in into.items() for i in pair}))
    mapping = "SELECT json_extract(value, '$[0]') AS old, json_extract(value, '$[1]') AS new FROM json_each(?)"
    for table, keys, sums in _FOLDED:
        conn.execute(
            f"CREATE TEMP TABLE folded AS SELECT broadcast_month, coalesce(m.new, s.customer_id) AS customer_id, {keys},"
            f" {sums} FROM {table} s LEFT JOIN ({mapping}) m"
            f" ON m.old = s.customer_id WHERE s.customer_id IN (SELECT value FROM json_each(?))"
            f" GROUP BY 1, 2, {', '.join(str(3 + i) for i in range(keys.count(',') + 1))}",
            (pairs, ids))
        try:
            conn.execute(f"DELETE FROM {table} WHERE customer_id IN (SELECT value FROM json_each(?))", (ids,))
            conn.execute(f"INSERT INTO {table} SELECT * FROM temp.folded")
        finally:
            conn.execute("DROP TABLE temp.folded")
    conn.execute(f"UPDATE customer_code_summary SET customer_id = m.new FROM ({mapping}) m"
                 " WHERE customer_code_summary.customer_id = m.old", (pairs,))
    conn.execute("DELETE FROM customer_total_summary WHERE customer_id IN (SELECT value FROM json_each(?))", (ids,))
    select = SELECTS["customer_total_summary"].replace(
        "WHERE broadcast_month = ?", "WHERE customer_id IN (SELECT value FROM json_each(?))")
    conn.execute(f"INSERT INTO customer_total_summary{select}", (ids,))
    refresh_lifetimes(conn, json.loads(ids))


def compute(rows: list[tuple], months: Iterable[int]) -> dict[str, dict[int, list[tuple]]]:
    """The FROM_SPOTS summaries of `months`, from spot rows holding SPOT_FIELDS, by the same
    SELECTs run in a private in-memory database: {table: {month: rows}}.

    With the spots in the order the database holds them and the same index to scan, each group
    adds up its spots in the same order, so the sums equal refresh_summaries' to the last bit.
    """
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA cache_size = -{db.IMPORT_CACHE_KIB}")  # the import's: sorts alike
        width = SPOT_FIELDS.index("time_in")      # the columns after it are for the rates only
        conn.execute(f"CREATE TABLE spots ({', '.join(SPOT_FIELDS[:width])})")
        conn.execute("CREATE INDEX spots_month ON spots (broadcast_month, revenue_type)")
        conn.executemany(f"INSERT INTO spots VALUES ({', '.join('?' * width)})", (row[:width] for row in rows))
        out = {table: {month: conn.execute(SELECTS[table], (month,)).fetchall() for month in months}
                for table in FROM_SPOTS}
    finally:
        conn.close()
    return out


def compute_rates(rows: list[tuple], months: Iterable[int]) -> dict:
    """The two rate summaries of `months` from spot rows holding SPOT_FIELDS, as
    rate_summary.computed() makes them: {month: answer}."""
    wanted = set(months)
    pick = itemgetter(*_CUBE_AT)
    counts = rate_summary.cube(pick(row) for row in rows if row[0] in wanted)
    return {month: rate_summary.computed(counts.get(month, collections.Counter())) for month in wanted}


def refresh_all(conn: sqlite3.Connection) -> list[int]:
    """Rebuild every month's summaries (a repair tool; the import refreshes only what it changed)."""
    months = [r[0] for r in conn.execute(
        "SELECT broadcast_month FROM spots GROUP BY broadcast_month "
        "UNION SELECT broadcast_month FROM customer_month_summary"
    )]
    refresh_summaries(conn, months)
    return months


class Background:
    """`compute_rates` and `compute` in a process of its own, while the import goes on writing
    the spots.

        worker = Background(rows, months)      # starts at once
        ...
        rates = worker.rates()                 # the rate summaries, answered first
        computed = worker.result()             # None if it failed: build them in SQL instead

    The rate summaries come first, so that the import stores them while the process is still
    computing the others.

    The import's transaction spends a third of its time on these summaries with one of the two
    cores idle; a thread would not help (the GIL), a process does. Anything that goes wrong in it
    costs only the time: the caller falls back to refresh_summaries' SQL.
    """

    COMMAND = ("-m", "ctvdb.summaries")   # after sys.executable; runs _serve()

    def __init__(self, rows: list[tuple], months: list[int], timeout: float = 300.0):
        self.timeout = timeout
        self._outcome: tuple[bytes, bytes, int] | None = None
        self._rates: bytes | None = None
        self._rates_read = threading.Event()
        package_root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [package_root] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}
        self._process = subprocess.Popen(
            [sys.executable, *self.COMMAND], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env)
        data = pickle.dumps((months, rows), protocol=pickle.HIGHEST_PROTOCOL)
        self._talker = threading.Thread(target=self._talk, args=(data,), name="summaries", daemon=True)
        self._talker.start()

    def _talk(self, data: bytes) -> None:
        # Plain blocking reads and writes: each is one call that gives up the GIL, where
        # communicate() would take it back for every 4 KB while the import inserts spots.
        process = self._process
        try:
            try:
                process.stdin.write(data)
                process.stdin.close()
            except BrokenPipeError:
                pass  # the process ended before reading it all: its stderr says why
            size = int.from_bytes(process.stdout.read(8) or b"\0", "big")
            first = process.stdout.read(size) if size else b""
            self._rates = first if size and len(first) == size else None
            self._rates_read.set()
            out = process.stdout.read()
            err = process.stderr.read()
            self._outcome = (out, err, process.wait())
        except Exception as exc:  # noqa: BLE001 - reported by result() as a failure
            self._outcome = (b"", str(exc).encode(), -1)
        finally:
            self._rates_read.set()

    def rates(self) -> dict[str, dict[int, list[tuple]]] | None:
        """compute_rates' answer, as soon as it has come (None if it did not: build them here)."""
        self._rates_read.wait(self.timeout)
        if self._rates is not None:
            try:
                return pickle.loads(self._rates)
            except Exception as exc:  # noqa: BLE001
                log.warning("summaries process sent bad rate summaries (%s); building them here instead", exc)
        return None

    def result(self) -> dict[str, dict[int, list[tuple]]] | None:
        self._talker.join(self.timeout)
        self.close()
        out, err, status = self._outcome or (b"", b"no answer in time", -1)
        if status == 0:
            try:
                return pickle.loads(out)
            except Exception as exc:  # noqa: BLE001
                err = str(exc).encode()
        last = (err.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        log.warning("summaries process failed (%s); building them in the database instead", last)
        return None

    def close(self) -> None:
        """Stop the process if it still runs (the import failed, or gave up waiting)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def _serve() -> int:
    """The Background process: (months, rows) pickled on stdin; on stdout compute_rates' answer
    pickled after its length (8 bytes, big-endian), then compute's."""
    months, rows = pickle.load(sys.stdin.buffer)
    first = pickle.dumps(compute_rates(rows, months), protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.write(len(first).to_bytes(8, "big") + first)
    sys.stdout.buffer.flush()
    pickle.dump(compute(rows, months), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
