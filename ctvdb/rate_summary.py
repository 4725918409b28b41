"""The rate summaries (issue 14, migration 0018): what the rates pages read instead of spots.

Per broadcast month, one packed array of the month's counted spots (ctvdb.rates' rules) by every
key a rate is filtered or broken down by, down to the exact unit rate — the *cube* — and one
packed array per *cut* (the cube added up by one dimension, or a few together: CUTS). A row of
rate_summary or rate_cut_summary is one month's array (numpy, little-endian) with the names its
codes stand for (JSON), so a year is read as 12 rows per cut and added up by numpy, where a row
per key and rate was a hundred thousand Python rows per page and per import.

A cube or cut entry says "this many spots"; entries with equal keys may occur (after a merge of
customers), and every reader adds them up, so a merge only re-points customer ids.

    counts = cube(spot_rows)                  # {month: Counter}, in Python, from rates' rules
    store(conn, month, counts[month])         # the month's cube and cuts, replacing what was there
    names, entries = load_cube(conn, first, last)
    values, entries = load_cut(conn, "language", first, last)
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable

import numpy as np

from ctvdb import rates

# The spot columns the cube reads, in this order (ctvdb.summaries.SPOT_FIELDS holds them too).
CUBE_FIELDS = ("broadcast_month", "customer_id", "ae", "revenue_type", "market_code", "language_code",
               "spot_type", "gross_rate", "time_in", "day_of_week", "air_date", "length_seconds")

# A cube entry. The coded columns hold an index into the month's names of that column.
CUBE_DTYPE = np.dtype([("language", "<u2"), ("market", "<u2"), ("daypart", "<u2"), ("weekend", "u1"),
                       ("length", "<i4"), ("revenue_type", "<u2"), ("ae", "<u2"), ("customer", "<i8"),
                       ("rate", "<f8"), ("spots", "<i8")])
CODED = ("language", "market", "daypart", "revenue_type", "ae")
KEY = ("language", "market", "daypart", "weekend", "length", "revenue_type", "ae", "customer", "rate")

# A cut entry: value is an index into the month's list of the cut's values (text, its parts joined
# by SEP); customer 0 in the cuts not by customer, rate 0.0 in the cuts not by rate.
CUT_DTYPE = np.dtype([("value", "<u4"), ("customer", "<i8"), ("rate", "<f8"), ("spots", "<i8"),
                      ("revenue", "<f8"), ("timed_spots", "<i8"), ("timed_revenue", "<f8"), ("seconds", "<i8")])
SEP = "|"
# name: (the cube columns of its value, by customer, by rate), over every AE (an AE's own figures
# are read from the cube). The single dimensions keep the rate (medians); the cuts of two or three
# dimensions need only sums (the card, the customers against it, the lengths by language, market
# and customer).
CUTS = {
    "all": ((), False, True),
    "language": (("language",), False, True),
    "market": (("market",), False, True),
    "daypart": (("daypart",), False, True),
    "day": (("weekend",), False, True),
    "length": (("length",), False, True),
    "revenue_type": (("revenue_type",), False, True),
    "ae": (("ae",), False, True),
    "customer": ((), True, True),
    "card": (("language", "market", "daypart"), False, False),
    "customer_card": (("language", "market", "daypart"), True, False),
    "length_language": (("length", "language"), False, False),
    "length_market": (("length", "market"), False, False),
    "length_customer": (("length",), True, False),
}
CUSTOMER_CUTS = tuple(name for name, (_, by_customer, _) in CUTS.items() if by_customer)


# Counting, in Python ----------------------------------------------------------------------------

def cube(rows: Iterable[tuple]) -> dict[int, Counter]:
    """The counted spots of `rows` (CUBE_FIELDS) by month and KEY. The daypart of a Time In and
    the day of a Day(s) and air date are worked out once per distinct text, not per spot."""
    out: dict[int, Counter] = {}
    parts: dict = {}
    days: dict = {}
    for month, customer, ae, revenue_type, market, language, spot_type, rate, time_in, day, air_date, seconds in rows:
        if not (rate > 0 and revenue_type != "Trade" and spot_type != "BNS"):
            continue
        part = parts.get(time_in)
        if part is None:
            part = parts[time_in] = rates.daypart(time_in)
        weekend = days.get((day, air_date))
        if weekend is None:
            weekend = days[(day, air_date)] = int(rates.is_weekend(day, air_date))
        counts = out.get(month)
        if counts is None:
            counts = out[month] = Counter()
        counts[(language or "", market or "", part, weekend, seconds or 0, revenue_type, ae, customer, rate)] += 1
    return out


# Packing ----------------------------------------------------------------------------------------

def pack(counts: Counter, names: dict[str, list] | None = None) -> tuple[dict[str, list], np.ndarray]:
    """A month's Counter of KEY -> spots as (names of each coded column, CUBE_DTYPE entries).
    With `names`, the entries index those, extended with any new name at the end."""
    items = list(counts.items())
    entries = np.zeros(len(items), dtype=CUBE_DTYPE)
    names = {column: list((names or {}).get(column, [])) for column in CODED}
    if not items:
        return names, entries
    columns = list(zip(*(key for key, _ in items)))
    for column, values in zip(KEY, columns):
        if column in CODED:
            known = names[column]
            index = {v: i for i, v in enumerate(known)}
            for v in sorted(set(values) - index.keys()):
                index[v] = len(known)
                known.append(v)
            entries[column] = [index[v] for v in values]
        else:
            entries[column] = values
    entries["spots"] = [n for _, n in items]
    return names, entries


DENSE = 1 << 21     # a key space up to this many codes is grouped by counting, without a sort


def _group(keys: list[np.ndarray], n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Group n entries by the columns `keys`: (each entry's group, each group's key values), the
    groups in key order. A column of small non-negative integers (the coded columns, lengths)
    is its own code; any other is numbered by np.unique first."""
    if n == 0:
        return np.zeros(0, dtype=np.int64), [k[:0] for k in keys]
    combined = np.zeros(n, dtype=np.int64)
    decode = []
    space = 1
    for key in keys:
        if key.dtype.kind in "ui" and int(key.min()) >= 0 and int(key.max()) < DENSE:
            values, codes, size = None, key.astype(np.int64), int(key.max()) + 1
        else:
            values, codes = np.unique(key, return_inverse=True)
            size = len(values)
        decode.append((values, size))
        combined = combined * size + codes
        space *= size
    if space <= DENSE:
        present = np.flatnonzero(np.bincount(combined, minlength=space))
        remap = np.empty(space, dtype=np.int64)
        remap[present] = np.arange(len(present))
        groups, inverse = present, remap[combined]
    else:
        groups, inverse = np.unique(combined, return_inverse=True)
    out = []
    for values, size in reversed(decode):
        groups, at = np.divmod(groups, size)
        out.append(at if values is None else values[at])
    return inverse, out[::-1]


def cut(names: dict[str, list], entries: np.ndarray, name: str) -> tuple[list[str], np.ndarray]:
    """One month's cut `name` of its cube: (its values as text, CUT_DTYPE entries), the sums of
    money rounded to the cent (the order entries come in then does not show)."""
    columns, by_customer, by_rate = CUTS[name]
    n = len(entries)
    keys = [entries[c] for c in columns] + ([entries["customer"]] if by_customer else []) \
        + ([entries["rate"]] if by_rate else [])
    inverse, firsts = _group(keys or [np.zeros(n, dtype=np.int64)], n)
    groups = len(firsts[0]) if n else 0
    spots = entries["spots"]
    revenue = entries["rate"] * spots
    timed = entries["length"] > 0

    def total(weights) -> np.ndarray:
        return np.bincount(inverse, weights=weights, minlength=groups) if n else np.zeros(0)

    out = np.zeros(groups, dtype=CUT_DTYPE)
    out["spots"] = np.rint(total(spots))
    out["revenue"] = np.round(total(revenue), 2)
    out["timed_spots"] = np.rint(total(np.where(timed, spots, 0)))
    out["timed_revenue"] = np.round(total(np.where(timed, revenue, 0.0)), 2)
    out["seconds"] = np.rint(total(entries["length"] * spots))
    if by_customer:
        out["customer"] = firsts[len(columns)]
    if by_rate:
        out["rate"] = firsts[-1]
    # The value: its parts as text, each distinct one joined once.
    parts = [[str(names[c][i]) if c in CODED else str(i) for i in firsts[j].tolist()]
             for j, c in enumerate(columns)]
    texts = [SEP.join(p) for p in zip(*parts)] if columns else [""] * groups
    values = sorted(set(texts))
    index = {v: i for i, v in enumerate(values)}
    out["value"] = [index[t] for t in texts]
    return values, out


# Storing and loading ----------------------------------------------------------------------------

def store(conn: sqlite3.Connection, month: int, counts: Counter | None,
          packed: tuple[dict[str, list], np.ndarray] | None = None,
          cut_names: Iterable[str] = tuple(CUTS)) -> None:
    """Replace `month`'s cube and its cuts `cut_names` (every cut by default) with those of
    `counts` (or of `packed`, pack()'s answer). Runs in the caller's transaction."""
    names, entries = packed if packed is not None else pack(counts or Counter())
    cut_names = list(cut_names)
    conn.execute("DELETE FROM rate_summary WHERE broadcast_month = ?", (month,))
    conn.execute(f"DELETE FROM rate_cut_summary WHERE broadcast_month = ? AND cut IN ({', '.join('?' * len(cut_names))})",
                 (month, *cut_names))
    if not len(entries):
        return
    conn.execute("INSERT INTO rate_summary VALUES (?, ?, ?)", (month, json.dumps(names), entries.tobytes()))
    rows = []
    for name in cut_names:
        values, cut_entries = cut(names, entries, name)
        rows.append((name, month, json.dumps(values), cut_entries.tobytes()))
    conn.executemany("INSERT INTO rate_cut_summary VALUES (?, ?, ?, ?)", rows)


def computed(counts: Counter) -> tuple[tuple[str, dict, bytes], list[tuple[str, list, bytes]]]:
    """What store() writes for a month, made without a database (the import's background process):
    (names, packed cube), [(cut, values, packed cut)]."""
    names, entries = pack(counts)
    return (names, entries.tobytes()), [(name, *_packed_cut(names, entries, name)) for name in CUTS]


def _packed_cut(names, entries, name) -> tuple[list[str], bytes]:
    values, out = cut(names, entries, name)
    return values, out.tobytes()


def store_computed(conn: sqlite3.Connection, month: int, answer) -> None:
    """store() from computed()'s answer."""
    (names, cube_bytes), cuts = answer
    conn.execute("DELETE FROM rate_summary WHERE broadcast_month = ?", (month,))
    conn.execute("DELETE FROM rate_cut_summary WHERE broadcast_month = ?", (month,))
    if not cube_bytes:
        return
    conn.execute("INSERT INTO rate_summary VALUES (?, ?, ?)", (month, json.dumps(names), cube_bytes))
    conn.executemany("INSERT INTO rate_cut_summary VALUES (?, ?, ?, ?)",
                     [(name, month, json.dumps(values), data) for name, values, data in cuts])


def load_month(conn: sqlite3.Connection, month: int) -> tuple[dict[str, list], np.ndarray]:
    row = conn.execute("SELECT names, entries FROM rate_summary WHERE broadcast_month = ?", (month,)).fetchone()
    if row is None:
        return {column: [] for column in CODED}, np.zeros(0, dtype=CUBE_DTYPE)
    return json.loads(row[0]), np.frombuffer(row[1], dtype=CUBE_DTYPE).copy()


def _remap(index: dict, values: list) -> np.ndarray | None:
    """The codes of `values` in `index` (extended with new ones), None where they are 0, 1, 2, …"""
    codes = [index.setdefault(v, len(index)) for v in values]
    return None if codes == list(range(len(codes))) else np.array(codes or [0], dtype=np.int64)


def load_cube(conn: sqlite3.Connection, first: int, last: int) -> tuple[dict[str, list], np.ndarray]:
    """The cube of the months first..last as one array, its coded columns indexing names common
    to all of them."""
    names: dict[str, dict] = {column: {} for column in CODED}
    parts = []
    for month_names, data in conn.execute(
            "SELECT names, entries FROM rate_summary WHERE broadcast_month BETWEEN ? AND ?", (first, last)):
        entries = np.frombuffer(data, dtype=CUBE_DTYPE)
        for column, values in json.loads(month_names).items():
            remap = _remap(names[column], values)
            if remap is not None:
                if not entries.flags.writeable:
                    entries = entries.copy()
                entries[column] = remap[entries[column]]
        parts.append(entries)
    entries = np.concatenate(parts) if parts else np.zeros(0, dtype=CUBE_DTYPE)
    return {column: list(index) for column, index in names.items()}, entries


def load_cut(conn: sqlite3.Connection, name: str, first: int, last: int) -> tuple[list[str], np.ndarray]:
    """The cut `name` of the months first..last as one array, its values indexing one list."""
    index: dict[str, int] = {}
    parts = []
    for values, data in conn.execute(
            "SELECT value_names, entries FROM rate_cut_summary WHERE cut = ? AND broadcast_month BETWEEN ? AND ?",
            (name, first, last)):
        entries = np.frombuffer(data, dtype=CUT_DTYPE)
        remap = _remap(index, json.loads(values))
        if remap is not None:
            entries = entries.copy()
            entries["value"] = remap[entries["value"]]
        parts.append(entries)
    return list(index), np.concatenate(parts) if parts else np.zeros(0, dtype=CUT_DTYPE)


def cut_months(conn: sqlite3.Connection, name: str, first: int, last: int) -> list[tuple[int, list[str], np.ndarray]]:
    """The cut `name` month by month: [(month, its values, its entries)]."""
    return [(month, json.loads(values), np.frombuffer(data, dtype=CUT_DTYPE)) for month, values, data in conn.execute(
        "SELECT broadcast_month, value_names, entries FROM rate_cut_summary WHERE cut = ? AND broadcast_month"
        " BETWEEN ? AND ? ORDER BY 1", (name, first, last))]


def cube_months(conn: sqlite3.Connection, first: int, last: int) -> list[tuple[int, dict[str, list], np.ndarray]]:
    """The cube month by month: [(month, its names, its entries)]."""
    return [(month, json.loads(names), np.frombuffer(data, dtype=CUBE_DTYPE)) for month, names, data in conn.execute(
        "SELECT broadcast_month, names, entries FROM rate_summary WHERE broadcast_month BETWEEN ? AND ? ORDER BY 1",
        (first, last))]


def column_values(names: dict[str, list], entries: np.ndarray, column: str) -> list:
    """A cube column of `entries` as the values it stands for."""
    if column in CODED:
        return [names[column][i] for i in entries[column].tolist()]
    return entries[column].tolist()


def cut_rows(conn: sqlite3.Connection, name: str, first: int, last: int) -> list[tuple]:
    """The cut as plain rows (value, customer_id, gross_rate, spots, revenue, timed_spots,
    timed_revenue, seconds), one per entry, for a page that reads few of them."""
    values, entries = load_cut(conn, name, first, last)
    return [(values[v], c, r, s, rev, ts, tr, sec) for v, c, r, s, rev, ts, tr, sec in entries.tolist()]


def sums(keys: list[np.ndarray], weights: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Entries added up by `keys`: (each group's key values, each weight's sums)."""
    n = len(weights[0])
    inverse, firsts = _group(keys, n)
    groups = len(firsts[0]) if keys else 0
    return firsts, [np.bincount(inverse, weights=w, minlength=groups) for w in weights]


def grouped(keys: list[np.ndarray], weights: list[np.ndarray]) -> list[tuple]:
    """sums() as plain rows: (key values..., sums...) per group."""
    firsts, totals = sums(keys, weights)
    return list(zip(*(f.tolist() for f in firsts), *(t.tolist() for t in totals)))


def own_cube(conn: sqlite3.Connection, ae: str, first: int, last: int) -> tuple[dict[str, list], np.ndarray]:
    """The cube of the months first..last, only `ae`'s entries."""
    names, entries = load_cube(conn, first, last)
    return names, entries[np.isin(entries["ae"], [i for i, name in enumerate(names["ae"]) if name == ae])]


def measures(entries: np.ndarray) -> list[np.ndarray]:
    """Cube entries' [spots, revenue, revenue of the spots with a length, their seconds]."""
    spots, length = entries["spots"], entries["length"]
    revenue = entries["rate"] * spots
    return [spots, revenue, np.where(length > 0, revenue, 0.0), length * spots]


# The workbench: who a customer is changes, the spots do not ----------------------------------------

def months_of(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT broadcast_month FROM rate_summary")]


def fold(conn: sqlite3.Connection, into: dict[int, int], months: Iterable[int]) -> None:
    """Re-point every entry of a customer in `into` to the one it maps to, in the cube and the
    customer cuts of `months` (a merge of whole customers: no spot is read)."""
    old = np.array(sorted(into), dtype=np.int64)
    new = np.array([into[o] for o in sorted(into)], dtype=np.int64)

    def repoint(entries: np.ndarray) -> bool:
        at = np.searchsorted(old, entries["customer"])
        hit = (at < len(old)) & (old[np.minimum(at, len(old) - 1)] == entries["customer"])
        entries["customer"][hit] = new[at[hit]]
        return bool(hit.any())

    for month in months:
        names, entries = load_month(conn, month)
        if not repoint(entries):
            continue
        conn.execute("UPDATE rate_summary SET entries = ? WHERE broadcast_month = ?", (entries.tobytes(), month))
        for name, data in conn.execute(
                f"SELECT cut, entries FROM rate_cut_summary WHERE broadcast_month = ? AND cut IN "
                f"({', '.join('?' * len(CUSTOMER_CUTS))})", (month, *CUSTOMER_CUTS)).fetchall():
            cut_entries = np.frombuffer(data, dtype=CUT_DTYPE).copy()
            repoint(cut_entries)
            conn.execute("UPDATE rate_cut_summary SET entries = ? WHERE cut = ? AND broadcast_month = ?",
                         (cut_entries.tobytes(), name, month))


def replace_customers(conn: sqlite3.Connection, customer_ids: set[int], counts: dict[int, Counter],
                      months: Iterable[int]) -> None:
    """In `months`, drop the cube entries of `customer_ids` and add `counts` (their spots counted
    again, by month), then make the month's customer cuts again: a split or an undo, which moves
    some of a customer's spots to another."""
    ids = np.array(sorted(customer_ids), dtype=np.int64)
    for month in sorted(set(months)):
        names, entries = load_month(conn, month)
        kept = entries[~np.isin(entries["customer"], ids)]
        names, added = pack(counts.get(month, Counter()), names)
        store(conn, month, None, packed=(names, np.concatenate([kept, added])))


def contents(conn: sqlite3.Connection) -> dict:
    """Both summaries decoded and added up, in a form that does not depend on the order or the
    packing of the entries: {("cube", month): {KEY as names: spots}, (cut, month): {(value,
    customer, rate): (spots, revenue, timed spots, timed revenue, seconds)}}. For tests and checks."""
    out: dict = {}
    for (month,) in conn.execute("SELECT broadcast_month FROM rate_summary ORDER BY 1").fetchall():
        names, entries = load_month(conn, month)
        counts: Counter = Counter()
        for row in entries.tolist():
            counts[tuple(names[c][row[i]] if c in CODED else row[i] for i, c in enumerate(KEY))] += row[-1]
        out[("cube", month)] = dict(counts)
    for name, month in conn.execute("SELECT cut, broadcast_month FROM rate_cut_summary ORDER BY 1, 2").fetchall():
        values, entries = load_cut(conn, name, month, month)
        cells: dict = {}
        for value, customer, rate, *figures in entries.tolist():
            cell = cells.setdefault((values[value], customer, rate), [0, 0.0, 0, 0.0, 0])
            for i, figure in enumerate(figures):
                cell[i] += figure
        out[(name, month)] = {key: (a, round(b, 2), c, round(d, 2), e) for key, (a, b, c, d, e) in cells.items()}
    return out
