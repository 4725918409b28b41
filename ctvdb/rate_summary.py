"""The rate summaries (issue 14, migration 0018): what the rates pages read instead of spots.

Per broadcast month, one packed array of the month's counted spots (ctvdb.rates' rules) by every
key a rate is filtered or broken down by, down to the exact unit rate — the *cube* — and one
packed array per *cut* (the cube added up by one dimension, or a few together: CUTS). A row of
rate_summary or rate_cut_summary is one month's array (numpy, little-endian) with the names its
codes stand for (JSON), so a year is read as 12 rows per cut and added up by numpy, where a row
per key and rate was a hundred thousand Python rows per page and per import.

Entries are kept by bill code (its code_key), not by customer: who a bill code's customer is
(bill_codes) is looked up when the arrays are read, so the workbench's aliases, merges, splits
and undos change nothing here.

    counts = cube(spot_rows)                  # {month: Counter}, in Python, from rates' rules
    store(conn, month, counts[month])         # the month's cube and cuts, replacing what was there
    names, entries = load_cube(conn, first, last)
    values, entries = load_cut(conn, "language", first, last)
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable

import numpy as np

from ctvdb import rates

# The spot columns the cube reads, in this order (ctvdb.summaries.SPOT_FIELDS holds them too).
CUBE_FIELDS = ("broadcast_month", "bill_code", "customer_id", "ae", "revenue_type", "market_code", "language_code",
               "spot_type", "gross_rate", "time_in", "day_of_week", "air_date", "length_seconds")

# A cube entry. The coded columns hold an index into the month's names of that column; customer is
# the customer as imported, which the reader replaces with the bill code's customer now (a bill
# code that bill_codes does not hold, as a database from before version 9 may have, keeps it).
CUBE_DTYPE = np.dtype([("language", "<u2"), ("market", "<u2"), ("daypart", "<u2"), ("weekend", "u1"),
                       ("length", "<i4"), ("revenue_type", "<u2"), ("ae", "<u2"), ("bill_code", "<u4"),
                       ("customer", "<i8"), ("rate", "<f8"), ("spots", "<i8")])
CODED = ("language", "market", "daypart", "revenue_type", "ae", "bill_code")
KEY = ("language", "market", "daypart", "weekend", "length", "revenue_type", "ae", "bill_code", "customer", "rate")

# A cut entry: value is an index into the month's list of the cut's values (text, its parts joined
# by SEP), bill_code into its bill codes (the cuts by customer), customer as in the cube;
# rate 0.0 in the cuts not by rate.
CUT_DTYPE = np.dtype([("value", "<u4"), ("bill_code", "<u4"), ("customer", "<i8"), ("rate", "<f8"), ("spots", "<i8"),
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
    for month, bill_code, customer, ae, revenue_type, market, language, spot_type, rate, time_in, day, air_date, \
            seconds in rows:
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
        counts[(language or "", market or "", part, weekend, seconds or 0, revenue_type, ae, bill_code.lower(),
                customer, rate)] += 1
    return out


# Packing ----------------------------------------------------------------------------------------

def pack(counts: Counter) -> tuple[dict[str, list], np.ndarray]:
    """A month's Counter of KEY -> spots as (names of each coded column, in order; CUBE_DTYPE entries)."""
    items = list(counts.items())
    entries = np.zeros(len(items), dtype=CUBE_DTYPE)
    names: dict[str, list] = {column: [] for column in CODED}
    if not items:
        return names, entries
    columns = list(zip(*(key for key, _ in items)))
    for column, values in zip(KEY, columns):
        if column in CODED:
            names[column] = sorted(set(values))
            index = {v: i for i, v in enumerate(names[column])}
            entries[column] = [index[v] for v in values]
        else:
            entries[column] = values
    entries["spots"] = [n for _, n in items]
    return by_ae(names, entries)


def by_ae(names: dict[str, list], entries: np.ndarray) -> tuple[dict[str, list], np.ndarray]:
    """The entries in AE order, and names["ae_ends"]: where each AE's entries end, so an AE's own
    page reads only its slice of the month's array (load_cube(ae=))."""
    entries = entries[np.argsort(entries["ae"], kind="stable")]
    counts = np.bincount(entries["ae"], minlength=len(names["ae"])) if len(entries) else np.zeros(0, dtype=np.int64)
    return names | {"ae_ends": np.cumsum(counts).tolist()}, entries


def sort_cubes(conn: sqlite3.Connection) -> int:
    """Put every month's cube in AE order with its ae_ends (migration 0021: the cubes stored before
    it). Runs in the caller's transaction; returns the months rewritten."""
    rows = conn.execute("SELECT broadcast_month, names, entries FROM rate_summary").fetchall()
    for month, names, data in rows:
        names, entries = by_ae(json.loads(names), np.frombuffer(data, dtype=CUBE_DTYPE))
        conn.execute("UPDATE rate_summary SET names = ?, entries = ? WHERE broadcast_month = ?",
                     (json.dumps(names), entries.tobytes(), month))
    restamp(conn, [month for month, _, _ in rows])
    return len(rows)


def dense(space: int, n: int) -> bool:
    """Whether n keys in 0..space-1 are numbered faster by counting (an array of the space) than
    by sorting them."""
    return space <= 4 * n + 65536


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
        if key.dtype.kind in "ui" and int(key.min()) >= 0 and dense(int(key.max()) + 1, n):
            values, codes, size = None, key.astype(np.int64), int(key.max()) + 1
        else:
            values, codes = np.unique(key, return_inverse=True)
            size = len(values)
        decode.append((values, size))
        combined = combined * size + codes
        space *= size
    if dense(space, n):
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
    keys = [entries[c] for c in columns] + ([entries["bill_code"], entries["customer"]] if by_customer else []) \
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
        out["bill_code"], out["customer"] = firsts[len(columns)], firsts[len(columns) + 1]
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

def _cut_names(names: dict[str, list], name: str, values: list[str]) -> str:
    """A cut row's names: its values, and for a cut by customer the month's bill codes."""
    return json.dumps({"values": values, "bill_codes": names["bill_code"] if CUTS[name][1] else []})


def computed(counts: Counter) -> tuple[list[tuple], list[tuple]]:
    """A month's rows of both tables, without their month (the import's background process makes
    them without a database): [(names, cube)], [(cut, names, entries)]."""
    names, entries = pack(counts)
    if not len(entries):
        return [], []
    cuts = []
    for name in CUTS:
        values, cut_entries = cut(names, entries, name)
        cuts.append((name, _cut_names(names, name, values), cut_entries.tobytes()))
    return [(json.dumps(names), entries.tobytes())], cuts


def store(conn: sqlite3.Connection, month: int, counts: Counter | None) -> None:
    """Replace `month`'s cube and cuts with those of `counts`. Runs in the caller's transaction."""
    store_computed(conn, month, computed(counts or Counter()))


def store_computed(conn: sqlite3.Connection, month: int, answer) -> None:
    """Replace `month`'s rows of both tables with computed()'s answer."""
    cube_rows, cut_rows = answer
    conn.execute("DELETE FROM rate_summary WHERE broadcast_month = ?", (month,))
    conn.execute("DELETE FROM rate_cut_summary WHERE broadcast_month = ?", (month,))
    conn.executemany("INSERT INTO rate_summary VALUES (?, ?, ?)", [(month, *row) for row in cube_rows])
    conn.executemany("INSERT INTO rate_cut_summary VALUES (?, ?, ?, ?)",
                     [(name, month, names, data) for name, names, data in cut_rows])
    # A new stamp (v22): what a process kept of the month's rows before is not read again.
    restamp(conn, [month])


def restamp(conn: sqlite3.Connection, months: Iterable[int]) -> None:
    """Give each of `months` a new stamp: its rows changed."""
    if _stamped(conn):
        conn.executemany("INSERT INTO rate_summary_stamps (broadcast_month, stamp) VALUES (?, ?)"
                         " ON CONFLICT (broadcast_month) DO UPDATE SET stamp = excluded.stamp",
                         [(month, new_stamp()) for month in months])


def _stamped(conn: sqlite3.Connection) -> bool:
    """Whether the database has the stamps (not while migrations 18 and 21 build the summaries of
    a database before version 22, whose own migration then stamps every month)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rate_summary_stamps'"
                        ).fetchone() is not None


def new_stamp() -> int:
    """A month's stamp: random, so two databases (or a database and its restored backup) holding
    different rows of a month never share one."""
    return secrets.randbits(62)


def forget_stamps(conn: sqlite3.Connection) -> None:
    """Drop every month's stamp (a rebuild of both tables from nothing stores each month again)."""
    if _stamped(conn):
        conn.execute("DELETE FROM rate_summary_stamps")


# Kept in memory ---------------------------------------------------------------------------------

class Kept:
    """What the rates pages read and decode, kept in memory under keys that change whenever it
    would: rows of both tables by (cut, or CUBE, month, the month's stamp), and a period's rows
    put together by the months' stamps (and who each bill code's customer is). A stamp is drawn
    anew whenever a month is stored, so what is kept is never stale, and after the nightly import
    only the months it rewrote are read from the database again. Bounded by weight (weigh(value)),
    the least recently read dropped first; shared by a process's request threads: readers must not
    change what they get."""

    def __init__(self, max_weight: int, weigh):
        self.max_weight, self.weight, self.weigh = max_weight, 0, weigh
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            value = self._items.get(key, default)
            if value is not default:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        weight = self.weigh(value)
        if weight > self.max_weight:
            return
        with self._lock:
            if key in self._items:
                self.weight -= self.weigh(self._items.pop(key))
            self.weight += weight
            self._items[key] = value
            while self.weight > self.max_weight:
                _, dropped = self._items.popitem(last=False)
                self.weight -= self.weigh(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.weight = 0

    def __len__(self) -> int:
        return len(self._items)


# Rows: at 1.5 M spots over five years both tables hold about 90 MB of records. Periods: a
# year's cuts of the overview are about 5 MB.
KEPT = Kept(256 << 20, lambda row: 0 if row is None else row[1].nbytes)
PERIODS = Kept(12, lambda _: 1)
CUBE = "(cube)"     # the key's cut for a month's cube (no cut has this name)
_MISSING = object()


def month_stamps(conn: sqlite3.Connection, first: int, last: int) -> dict[int, int | None]:
    """{month: its stamp} of the months first..last that have been stored; None for a month with a
    cube but no stamp (rows written by hand, not by store_computed), which is never kept."""
    return dict(conn.execute(
        "SELECT m.broadcast_month, s.stamp FROM (SELECT broadcast_month FROM rate_summary_stamps"
        " WHERE broadcast_month BETWEEN ?1 AND ?2 UNION SELECT broadcast_month FROM rate_summary"
        " WHERE broadcast_month BETWEEN ?1 AND ?2) m LEFT JOIN rate_summary_stamps s USING (broadcast_month)"
        " ORDER BY 1", (first, last)))


def period_key(conn: sqlite3.Connection, what, first: int, last: int, by_customer: bool = False) -> tuple | None:
    """A key for something made of the months first..last of the summaries (`what` says which):
    their stamps, and with `by_customer` who each bill code's customer is now. None where a month
    has no stamp (then nothing of it is kept)."""
    stamps = month_stamps(conn, first, last)
    if any(stamp is None for stamp in stamps.values()):
        return None
    return (what, first, last, tuple(stamps.items()), _customers_version(conn) if by_customer else None)


def for_period(conn: sqlite3.Connection, what, first: int, last: int, make, by_customer: bool = False):
    """make() of the months first..last, kept in PERIODS under period_key(): shared by every
    request that asks the same until one of the months is stored again (or, `by_customer`, a bill
    code's customer changes). Its readers change nothing of it."""
    key = period_key(conn, what, first, last, by_customer)
    made = PERIODS.get(key) if key is not None else None
    if made is None:
        made = make()
        if key is not None:
            PERIODS.put(key, made)
    return made


def _customers_version(conn: sqlite3.Connection) -> tuple[int, int]:
    """Who each bill code's customer is, as a fingerprint: any alias, merge, split or undo, and
    any new bill code, changes it."""
    pairs = conn.execute("SELECT code_key, customer_id FROM bill_codes").fetchall()
    return len(pairs), hash(frozenset(pairs))


def _kept_rows(conn: sqlite3.Connection, names: tuple, first: int, last: int, dtype: np.dtype, read) -> dict:
    """{(name, month): (decoded names, records)} of the months first..last, for each of `names`
    (cuts, or CUBE), in that order: what KEPT holds at the months' stamps, the rest read by
    read(names, months not to read) -> [(name, month, stamp, names JSON, bytes)] and kept. A month
    whose every row is kept is not read; one stored without a stamp is read every time."""
    stamps = {m: stamp for m, stamp in month_stamps(conn, first, last).items() if stamp is not None}
    found: dict = {}
    for name in names:
        for month, stamp in stamps.items():
            row = KEPT.get((name, month, stamp), _MISSING)
            if row is not _MISSING:
                found[(name, month)] = row
    complete = [m for m in stamps if all((name, m) in found for name in names)]
    # The months not wholly kept, and any stored without a stamp, in one statement (one snapshot).
    for name, month, stamp, text, data in read(names, complete):
        row = (json.loads(text), np.frombuffer(data, dtype=dtype))
        found[(name, month)] = row
        if stamp is not None:
            KEPT.put((name, month, stamp), row)
    for name in names:      # no row of a stamped month: kept as None (the month had no such spots)
        for month, stamp in stamps.items():
            if (name, month) not in found:
                found[(name, month)] = None
                KEPT.put((name, month, stamp), None)
    order = {name: i for i, name in enumerate(names)}
    return {key: found[key] for key in sorted(found, key=lambda k: (order[k[0]], k[1])) if found[key] is not None}


def _cut_rows(conn: sqlite3.Connection, cuts, first: int, last: int) -> dict:
    """{(cut, month): (names, CUT_DTYPE records)} of the cuts `cuts` over the months first..last."""
    def read(cuts: tuple, skip: list[int]):
        return conn.execute(
            f"SELECT c.cut, c.broadcast_month, s.stamp, c.names, c.entries FROM rate_cut_summary c"
            f" LEFT JOIN rate_summary_stamps s USING (broadcast_month) WHERE c.cut IN ({', '.join('?' * len(cuts))})"
            f" AND c.broadcast_month BETWEEN ? AND ? AND c.broadcast_month NOT IN ({', '.join('?' * len(skip))})",
            (*cuts, first, last, *skip)).fetchall()

    return _kept_rows(conn, tuple(cuts), first, last, CUT_DTYPE, read)


def _cubes(conn: sqlite3.Connection, first: int, last: int) -> dict:
    """{month: (names, CUBE_DTYPE records)} of the months' whole cubes."""
    def read(_, skip: list[int]):
        return conn.execute(
            "SELECT ?, c.broadcast_month, s.stamp, c.names, c.entries FROM rate_summary c"
            " LEFT JOIN rate_summary_stamps s USING (broadcast_month) WHERE c.broadcast_month BETWEEN ? AND ?"
            f" AND c.broadcast_month NOT IN ({', '.join('?' * len(skip))})", (CUBE, first, last, *skip)).fetchall()

    return {month: row for (_, month), row in _kept_rows(conn, (CUBE,), first, last, CUBE_DTYPE, read).items()}


class Columns:
    """Entries read back one contiguous array per field: numpy adds up and filters a column many
    times faster than a field of packed records. columns["spots"] is a field, len(columns) the
    number of entries, columns[mask] the entries a boolean mask (or an index array) keeps. A field
    is put together (the months' records joined, or the kept entries taken) when first read, so the
    fields a page does not read cost nothing."""

    def __init__(self, parts: list[tuple[np.ndarray, dict]], n: int, taken: tuple | None = None):
        self._parts, self._taken, self.n = parts, taken, n    # parts: [(records, {field: its array})]
        self._fields: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, records: np.ndarray) -> "Columns":
        return cls([(records, {})], len(records))

    @classmethod
    def joined(cls, parts: list["Columns"], dtype: np.dtype) -> "Columns":
        """Several months' Columns (each of one month's records) as one."""
        if not parts:
            return cls.of(np.zeros(0, dtype=dtype))
        if len(parts) == 1:
            return parts[0]
        return cls([(p._parts[0][0], p._fields) for p in parts], sum(p.n for p in parts))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        if not isinstance(key, str):
            if key.dtype == bool:
                key = np.flatnonzero(key)       # found once, then each field read taken by it
            return Columns([], len(key), (self, key))
        field = self._fields.get(key)
        if field is None:
            if self._taken is not None:
                base, index = self._taken
                field = base[key].take(index)
            else:
                pieces = [own[key] if key in own else records[key] for records, own in self._parts]
                field = np.ascontiguousarray(pieces[0]) if len(pieces) == 1 else np.concatenate(pieces)
            self._fields[key] = field
        return field

    def __setitem__(self, name: str, field: np.ndarray) -> None:
        self._fields[name] = field


def customers_of(conn: sqlite3.Connection) -> dict[str, int]:
    """Each bill code's (code_key's) customer, as the workbench last left it."""
    return dict(conn.execute("SELECT code_key, customer_id FROM bill_codes"))


def _fill_customers(entries: Columns, codes: list[str], customers: dict[str, int]) -> Columns:
    """Each entry's customer: its bill code's now, or the one it was imported with."""
    if len(entries):
        now = np.array([customers.get(c, 0) for c in codes] or [0], dtype=np.int64)[entries["bill_code"]]
        entries["customer"] = np.where(now > 0, now, entries["customer"])
    return entries


def _remap(index: dict, values: list) -> np.ndarray | None:
    """The codes of `values` in `index` (extended with new ones), None where they are 0, 1, 2, …"""
    codes = [index.setdefault(v, len(index)) for v in values]
    return None if codes == list(range(len(codes))) else np.array(codes or [0], dtype=np.int64)


def _cube_rows(conn: sqlite3.Connection, first: int, last: int, ae: str | None):
    """(month, names, entries) of the months' cubes; with `ae`, only that AE's entries: the slice
    ae_ends says, read from the stored array alone (a cube stored before the AE order, all of it,
    then kept by AE)."""
    if ae is None:
        for month, (names, records) in _cubes(conn, first, last).items():
            yield month, names, records
        return
    # Every month's whole cube kept (a drilled page read them): the AE's slices of those.
    kept = [(month, KEPT.get((CUBE, month, stamp), _MISSING) if stamp is not None else _MISSING)
            for month, stamp in month_stamps(conn, first, last).items()]
    if kept and all(row is not _MISSING for _, row in kept):
        for month, row in kept:
            if row is not None and ae in row[0]["ae"]:
                names, records = row
                code = names["ae"].index(ae)
                ends = names.get("ae_ends")
                yield month, names, (records[ends[code - 1] if code else 0:ends[code]] if ends is not None
                                     else records[records["ae"] == code])
        return
    # One statement (one snapshot of the table, whatever an import commits meanwhile): each month
    # the AE has entries in, the AE's code, and its slice cut out by SQLite, so only that part of
    # the stored array comes back (all of it from a cube stored before ae_ends).
    for month, names, code, start, end, data in conn.execute(
            "SELECT month, names, code, start, end, CASE WHEN end IS NULL THEN entries"
            " ELSE substr(entries, ? * start + 1, ? * (end - start)) END FROM ("
            "  SELECT r.broadcast_month AS month, r.names, r.entries, a.key AS code,"
            "   CASE a.key WHEN 0 THEN 0 ELSE json_extract(r.names, '$.ae_ends[' || (a.key - 1) || ']') END AS start,"
            "   json_extract(r.names, '$.ae_ends[' || a.key || ']') AS end"
            "  FROM rate_summary r, json_each(r.names, '$.ae') a"
            "  WHERE r.broadcast_month BETWEEN ? AND ? AND a.value = ?) ORDER BY 1",
            (CUBE_DTYPE.itemsize, CUBE_DTYPE.itemsize, first, last, ae)):
        entries = np.frombuffer(data or b"", dtype=CUBE_DTYPE)
        yield month, json.loads(names), entries if end is not None else entries[entries["ae"] == code]


def _cube_month(names: dict, records: np.ndarray, customers: dict[str, int], common: dict[str, dict] | None) -> Columns:
    """One month's cube as columns, customers filled in; with `common`, its coded columns
    renumbered into the names common to several months (extended as they come)."""
    entries = _fill_customers(Columns.of(records), names["bill_code"], customers)
    if common is not None:
        for column in CODED:
            if column != "bill_code":
                remap = _remap(common[column], names[column])
                if remap is not None:
                    entries[column] = remap[entries[column]]
    return entries


def load_cube(conn: sqlite3.Connection, first: int, last: int, ae: str | None = None) -> tuple[dict[str, list], Columns]:
    """The cube of the months first..last (with `ae`, only that AE's entries) as one set of
    columns, its coded columns indexing names common to all of them, customers filled in (each
    month's bill codes are looked up as they come, and their codes then mean nothing more:
    names["bill_code"] is left empty)."""
    customers = customers_of(conn)
    common: dict[str, dict] = {column: {} for column in CODED}
    parts = [_cube_month(names, records, customers, common) for _, names, records in _cube_rows(conn, first, last, ae)]
    entries = Columns.joined(parts, CUBE_DTYPE)
    return {column: list(index) for column, index in common.items()}, entries


def load_cuts(conn: sqlite3.Connection, cuts, first: int, last: int) -> dict[str, tuple[list[str], Columns]]:
    """The cuts `cuts` of the months first..last, each as one set of columns its values index
    one list in: {cut: (values, entries)}. One query for all of them; kept (PERIODS) until one of
    the months is stored again or, for a cut by customer, a bill code's customer changes. What it
    returns is shared: read it, change nothing of it."""
    by_customer = any(CUTS[name][1] for name in cuts)
    return for_period(conn, ("cuts", tuple(cuts)), first, last, lambda: _load_cuts(conn, cuts, first, last, by_customer),
                      by_customer)


def _load_cuts(conn: sqlite3.Connection, cuts, first: int, last: int, by_customer: bool) -> dict:
    customers = customers_of(conn) if by_customer else {}
    found: dict[str, tuple[dict, list]] = {name: ({}, []) for name in cuts}
    for (name, _), (names, records) in _cut_rows(conn, tuple(found), first, last).items():
        entries = Columns.of(records)
        if names["bill_codes"]:
            _fill_customers(entries, names["bill_codes"], customers)
        index, parts = found[name]
        remap = _remap(index, names["values"])
        if remap is not None:
            entries["value"] = remap[entries["value"]]
        parts.append(entries)
    return {name: (list(index), Columns.joined(parts, CUT_DTYPE)) for name, (index, parts) in found.items()}


def load_cut(conn: sqlite3.Connection, name: str, first: int, last: int) -> tuple[list[str], Columns]:
    """The cut `name` of the months first..last as one set of columns, its values indexing one list."""
    return load_cuts(conn, (name,), first, last)[name]


def cut_months(conn: sqlite3.Connection, name: str, first: int, last: int) -> list[tuple[int, list[str], Columns]]:
    """The cut `name` month by month: [(month, its values, its entries)], customers filled in."""
    customers = customers_of(conn) if CUTS[name][1] else {}
    out = []
    for (_, month), (names, records) in _cut_rows(conn, (name,), first, last).items():
        entries = Columns.of(records)
        if names["bill_codes"]:
            _fill_customers(entries, names["bill_codes"], customers)
        out.append((month, names["values"], entries))
    return out


def cube_months(conn: sqlite3.Connection, first: int, last: int,
                ae: str | None = None) -> list[tuple[int, dict[str, list], Columns]]:
    """The cube month by month (with `ae`, only that AE's entries): [(month, its names, its
    entries)], customers filled in."""
    customers = customers_of(conn)
    return [(month, names, _cube_month(names, records, customers, None))
            for month, names, records in _cube_rows(conn, first, last, ae)]


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


def own_cube(conn: sqlite3.Connection, ae: str, first: int, last: int) -> tuple[dict[str, list], Columns]:
    """The cube of the months first..last, only `ae`'s entries."""
    return load_cube(conn, first, last, ae)


def measures(entries: Columns) -> list[np.ndarray]:
    """Cube entries' [spots, revenue, revenue of the spots with a length, their seconds]."""
    spots, length = entries["spots"], entries["length"]
    revenue = entries["rate"] * spots
    return [spots, revenue, np.where(length > 0, revenue, 0.0), length * spots]


def contents(conn: sqlite3.Connection) -> dict:
    """Both summaries decoded, by customer and added up, in a form that does not depend on the
    order or the packing of the entries: {("cube", month): {(language, market, daypart, weekend,
    length, revenue type, AE, customer, rate): spots}, (cut, month): {(value, customer, rate):
    (spots, revenue, timed spots, timed revenue, seconds)}}. For tests and checks."""
    out: dict = {}
    months = [r[0] for r in conn.execute("SELECT broadcast_month FROM rate_summary ORDER BY 1")]
    for month in months:
        names, entries = load_cube(conn, month, month)
        counts: Counter = Counter()
        fields = [c for c in KEY if c != "bill_code"]
        for *row, spots in zip(*(entries[c].tolist() for c in fields), entries["spots"].tolist()):
            key = tuple(names[c][v] if c in CODED else v for c, v in zip(fields, row))
            counts[key] += spots
        out[("cube", month)] = dict(counts)
    for name, month in conn.execute("SELECT cut, broadcast_month FROM rate_cut_summary ORDER BY 1, 2").fetchall():
        values, entries = load_cut(conn, name, month, month)
        cells: dict = {}
        for value, _, customer, rate, *figures in zip(*(entries[f].tolist() for f in CUT_DTYPE.names)):
            cell = cells.setdefault((values[value], customer, rate), [0, 0.0, 0, 0.0, 0])
            for i, figure in enumerate(figures):
                cell[i] += figure
        out[(name, month)] = {key: (a, round(b, 2), c, round(d, 2), e) for key, (a, b, c, d, e) in cells.items()}
    return out
