"""Rate analysis (issue 14, DOMAIN.md §9): what a spot sells for, by language group, market,
daypart, weekday/weekend, length, revenue type, AE, sector and customer tenure, with drill-down.

Everything is read from the rate summaries (ctvdb.summaries, migration 0018): counted spots by
exact unit rate, so a median or a quartile is a walk over (rate, spots) pairs
(ctvdb.rates.quartiles), never an average of monthly medians. The company's page with no drill
filter reads one packed array a month per dimension (rate_cut_summary); a drilled page, or an AE's
own, reads the months' cubes (rate_summary), keeps the entries its filters select and adds them up
by every dimension (ctvdb.rate_summary: numpy does the adding). Sector and tenure come from the customer grouping, a customer's first
month from customer_total_summary.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import date
from urllib.parse import urlencode

import numpy as np

from ctvdb import rate_summary, rates
from ctvdb.web.params import Filters, month_label
from ctvdb.web.queries.base import (
    UNASSIGNED, Column, Report, Table, _months, _months_back, _options, current_month, period_months,
)

FEW_SPOTS = 10
NONE = "NONE"           # the link and filter value of "none" (no market, no time of day, no sector)
# Period presets: this month, the last closed month and quarter, the quarter and year to date, the
# trailing 12 closed months, or from/to ("custom"). Closed months come from month_closures.
PERIODS = {"month": "This month", "last_month": "Last closed month", "qtd": "Quarter to date",
           "last_quarter": "Last closed quarter", "ytd": "Year to date",
           "trailing12": "Trailing 12 closed months", "custom": "From/to"}
DEFAULT_PERIOD = "trailing12"
# The drill-down: a row opens the next of these inside it; the others follow, each at most once.
DRILL = ("language", "market", "daypart", "customer")
DIMENSIONS = ("language", "market", "daypart", "day", "length", "revenue_type", "ae", "sector", "tenure",
              "customer")
TITLES = {"language": "Language group", "market": "Market", "daypart": "Daypart", "day": "Weekday / weekend",
          "length": "Spot length", "revenue_type": "Revenue type", "ae": "AE", "sector": "Sector",
          "tenure": "Customer tenure", "customer": "Customer"}


@dataclass(frozen=True)
class RateFilters:
    """The rates page's arguments, parsed (web/views/rates.py). Hashable: part of the cache key."""

    period: str = DEFAULT_PERIOD
    from_month: int | None = None
    to_month: int | None = None
    ae: str | None = None
    revenue_type: str | None = None
    language: str | None = None         # a language group as shown ("Chinese"), or a code ("V")
    market: str | None = None           # a market code, or NONE for spots without one
    daypart: str | None = None          # a key of rates.DAYPARTS, or NONE for spots without a time
    day: str | None = None              # weekday | weekend
    length: str | None = None           # seconds ("30", "45", "0" for none) or "other"
    sector: str | None = None           # a sector code, NONE for unassigned
    tenure: str | None = None
    customer: int | None = None

    def args(self, **change) -> dict:
        """The query arguments that give these filters (with `change`), for a link."""
        values = asdict(self) | change
        out = {}
        if values["period"] == "custom":
            out |= {name: f"{values[key] // 100}-{values[key] % 100:02d}"
                    for key, name in (("from_month", "from"), ("to_month", "to")) if values[key]}
        elif values["period"] != DEFAULT_PERIOD:
            out["period"] = values["period"]
        for key in ("ae", "revenue_type") + DIMENSIONS:
            if values.get(key) not in (None, ""):
                out[key] = values[key]
        return out


# The period ------------------------------------------------------------------------------------

def closed_months(conn: sqlite3.Connection) -> set[int]:
    return {r[0] for r in conn.execute("SELECT broadcast_month FROM month_closures")}


def resolve_period(filters: RateFilters, closed: set[int], today: date) -> tuple[int, int]:
    """(first, last) broadcast month of the preset on `today`. With no month closed before this
    one yet, the last closed month is taken to be last month (the page says it is still open)."""
    now = current_month(today)
    quarter_start = now // 100 * 100 + 3 * ((now % 100 - 1) // 3) + 1
    before = [m for m in closed if m < now]
    last_closed = max(before) if before else _months_back(now, 1)
    if filters.period == "custom":
        return period_months(Filters(from_month=filters.from_month, to_month=filters.to_month), now // 100, today)
    if filters.period == "month":
        return now, now
    if filters.period == "last_month":
        return last_closed, last_closed
    if filters.period == "qtd":
        return quarter_start, now
    if filters.period == "ytd":
        return now // 100 * 100 + 1, now
    if filters.period == "last_quarter":
        start = _months_back(quarter_start, 3)
        while start > 200000 and not all(m in closed for m in _months(start, _months_back(start, -2))):
            start = _months_back(start, 3)
            if not any(m <= start for m in closed):   # no earlier quarter is closed: the one before now
                start = _months_back(quarter_start, 3)
                break
        return start, _months_back(start, -2)
    return _months_back(last_closed, 11), last_closed


def period_words(filters: RateFilters, first: int, last: int, closed: set[int]) -> str:
    months = _months(first, last)
    span = month_label(first) if first == last else f"{month_label(first)} to {month_label(last)}"
    words = f"{PERIODS[filters.period]}: {span} ({len(months)} month{'s' if len(months) != 1 else ''})"
    still_open = [m for m in months if m not in closed]
    if still_open:
        shown = ", ".join(month_label(m) for m in still_open[:6]) + (" …" if len(still_open) > 6 else "")
        words += f"; not closed yet: {shown}"
    return words


# Reading the summary ---------------------------------------------------------------------------

def _languages(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT code, language_group FROM languages")}


def language_group(code: str, groups: dict[str, str]) -> str:
    return groups.get(code, "Other")


def first_months(conn: sqlite3.Connection) -> dict[int, int]:
    """Each customer's first broadcast month with a spot (any spot: tenure is how long they have
    been a customer), from the customer summary's index."""
    return {r[0]: r[1] for r in conn.execute(
        "SELECT customer_id, min(broadcast_month) FROM customer_total_summary GROUP BY customer_id")}


def _codes(names: list, wanted) -> list[int]:
    return [i for i, name in enumerate(names) if name in wanted]


def _mask(conn: sqlite3.Connection, names: dict, entries: np.ndarray, filters: RateFilters, last: int,
          groups: dict[str, str], firsts: dict[int, int]) -> np.ndarray:
    """Which cube entries the filters keep."""
    keep = np.ones(len(entries), dtype=bool)

    def among(column: str, wanted) -> None:
        nonlocal keep
        keep &= np.isin(entries[column], _codes(names[column], wanted))

    if filters.ae:
        among("ae", {filters.ae})
    if filters.language:
        if filters.language.lower() == "other":
            keep &= ~np.isin(entries["language"], _codes(names["language"], set(groups)))
        else:
            codes = {c for c, g in groups.items() if g.lower() == filters.language.lower()}
            among("language", codes or {filters.language.upper()})
    if filters.market:
        among("market", {"" if filters.market == NONE else filters.market})
    if filters.daypart:
        among("daypart", {"" if filters.daypart == NONE else filters.daypart})
    if filters.day:
        keep &= entries["weekend"] == int(filters.day == "weekend")
    if filters.length == "other":
        keep &= ~np.isin(entries["length"], rates.STANDARD_LENGTHS)
    elif filters.length is not None:
        keep &= entries["length"] == int(filters.length)
    if filters.revenue_type:
        among("revenue_type", {filters.revenue_type})
    if filters.customer:
        keep &= entries["customer"] == filters.customer
    if filters.sector:
        sql = "sector_code IS NULL" if filters.sector == NONE else "sector_code = ?"
        ids = [r[0] for r in conn.execute(f"SELECT id FROM customers WHERE {sql}",
                                          () if filters.sector == NONE else (filters.sector,))]
        keep &= np.isin(entries["customer"], ids)
    if filters.tenure:
        keep &= np.isin(entries["customer"], [c for c, m in firsts.items() if rates.tenure(m, last) == filters.tenure])
    return keep


# Each dimension's cut of rate_cut_summary (the same name) and how a value of it is read back.
_CUT_VALUE = {"language": str, "market": str, "daypart": str, "day": int, "length": int, "revenue_type": str,
              "ae": str, "customer": None, "all": str}
# The cube column each dimension is added up by.
_CUBE_COLUMN = {"language": "language", "market": "market", "daypart": "daypart", "day": "weekend",
                "length": "length", "revenue_type": "revenue_type", "ae": "ae", "customer": "customer", "all": None}


def drilled(filters: RateFilters) -> bool:
    """Whether any filter but the period applies: then the page reads the cube, not the cuts."""
    return any(getattr(filters, d) not in (None, "") for d in DIMENSIONS + ("ae", "revenue_type"))


@dataclass
class Counted:
    """One dimension's counted spots as entries: each entry's value (`codes` index `values`, or
    are the values themselves where `values` is None), unit rate and counts."""

    values: list | None
    codes: np.ndarray
    rate: np.ndarray
    spots: np.ndarray
    timed: np.ndarray       # the spots with a length
    seconds: np.ndarray     # their seconds
    rates: tuple | None = None     # _rate_codes(rate), where several dimensions share it

    def rate_codes(self) -> tuple[np.ndarray, np.ndarray]:
        if self.rates is None:
            self.rates = _rate_codes(self.rate)
        return self.rates


def collect(conn: sqlite3.Connection, filters: RateFilters, first: int, last: int, groups, firsts,
            card: bool = False) -> dict:
    """The counted spots of the months first..last that the filters keep: {dimension: Counted},
    and under "all" every one of them under the value "". Undrilled, each dimension is its cut;
    drilled (or an AE's own), the cube's entries the filters keep, and with `card` the company's
    card cells of the whole cube under "_card" (card_cells())."""
    if not drilled(filters):
        return rate_summary.for_period(conn, "collected", first, last, lambda: _collect_cuts(conn, first, last), True)
    return _collect_cube(conn, filters, first, last, groups, firsts, card)


def _collect_cuts(conn: sqlite3.Connection, first: int, last: int) -> dict:
    """collect() undrilled: each dimension's cut. Kept as the cuts are: shared, changed by no one."""
    out: dict = {}
    cuts = rate_summary.load_cuts(conn, _CUT_VALUE, first, last)
    known = rate_table(cuts["all"][1]["rate"])      # every rate of the months
    for dim, kind in _CUT_VALUE.items():
        values, entries = cuts[dim]
        codes, values = (entries["customer"], None) if kind is None else \
            (entries["value"], [kind(v) for v in values])
        out[dim] = Counted(values, codes, entries["rate"], entries["spots"], entries["timed_spots"],
                           entries["seconds"], _rate_codes(entries["rate"], known))
    return out


def _collect_cube(conn: sqlite3.Connection, filters: RateFilters, first: int, last: int, groups, firsts,
                  card: bool) -> dict:
    """collect() drilled (or an AE's own): the cube's entries the filters keep."""
    out: dict = {}
    names, entries, rate_values, made = rate_summary.for_period(
        conn, ("coded cube", filters.ae), first, last, lambda: _coded_cube(conn, first, last, filters.ae), True)
    if card and not filters.ae:     # the company's card (every AE and customer), before the filters
        out["_card"] = made.get("card") or made.setdefault("card", _cube_card(names, entries))
    entries = entries[_mask(conn, names, entries, filters, last, groups, firsts)]
    spots, length = entries["spots"], entries["length"]
    timed, seconds = np.where(length > 0, spots, 0), length * spots
    shared = (rate_values, entries["rate_code"])
    for dim, column in _CUBE_COLUMN.items():
        if column is None:
            codes, values = np.zeros(len(entries), dtype=np.int64), [""]
        else:
            codes, values = entries[column], names[column] if column in rate_summary.CODED else None
        out[dim] = Counted(values, codes, entries["rate"], spots, timed, seconds, shared)
    return out


def _coded_cube(conn: sqlite3.Connection, first: int, last: int, ae: str | None) -> tuple:
    """(names, entries, their rates, {} for what is made of them once: the company's card) of the
    months' cube (with `ae`, only that AE's entries), each entry's rate_code among the rates. Kept
    as the cuts are (rate_summary.PERIODS): shared, changed by no one (a filter takes entries)."""
    # An AE's page reads only the AE's entries of each month (the cubes are in AE order).
    names, entries = rate_summary.load_cube(conn, first, last, ae)
    # The rates are numbered once, over the whole cube, and the codes kept with the entries: the
    # "all" cut of the months holds every rate there is, so each is found among those (a short
    # sorted list) instead of among all the cube's.
    rate_values, entries["rate_code"] = _rate_codes(
        entries["rate"], rate_table(rate_summary.load_cut(conn, "all", first, last)[1]["rate"]))
    return names, entries, rate_values, {}


def _present(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct codes in order, each entry's place among them), by counting where the codes
    are small non-negative integers (no sort)."""
    if len(codes) and codes.dtype.kind in "ui" and int(codes.min()) >= 0 \
            and rate_summary.dense(int(codes.max()) + 1, len(codes)):
        codes = codes.astype(np.int64)
        present = np.flatnonzero(np.bincount(codes))
        at = np.zeros(int(present[-1]) + 1, dtype=np.int64)
        at[present] = np.arange(len(present))
        return present, at[codes]
    return np.unique(codes, return_inverse=True)


def rate_table(known: np.ndarray) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(the distinct rates of `known` in order, a table from a rate's cents to its code, or None
    where the cents span so much more than there are rates that a search among them is cheaper
    than filling a table), or None where there are no rates."""
    values = np.unique(known)
    if not len(values):
        return None
    cents = np.rint(values * 100)
    if float(values[0]) < 0 or float(values[-1]) >= 1e5 or not np.array_equal(cents / 100, values) \
            or not rate_summary.dense(int(cents[-1]) + 2, len(values)):
        return values, None
    cents = cents.astype(np.int64)
    table = np.full(int(cents[-1]) + 2, len(values), dtype=np.int64)
    table[cents] = np.arange(len(values))
    return values, table


def _rate_codes(rate: np.ndarray, known: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct unit rates in order, each entry's code among them). With `known` (a
    rate_table() of rates holding every one of `rate`'s), each is looked up in its table (a gather)
    or found among its rates (a binary search): no sort. Else rates are sorted, exactly."""
    if known is not None and len(rate):
        values, table = known
        if table is not None:
            codes = table[np.clip(np.rint(rate * 100), 0, len(table) - 1).astype(np.int64)]
        else:
            codes = np.searchsorted(values, rate)
        if int(codes.max()) < len(values) and np.array_equal(values[codes], rate):
            return values, codes
    return np.unique(rate, return_inverse=True)


def keyed(counted: Counted, name=None) -> tuple[list, np.ndarray]:
    """The dimension's values regrouped under name(value) (codes into language groups, customers
    into sectors or tenures; None keeps them): (the keys, each entry's key's index)."""
    present, inverse = _present(counted.codes)
    index: dict = {}
    at = []
    for code in present.tolist():
        value = code if counted.values is None else counted.values[code]
        at.append(index.setdefault(value if name is None else name(value), len(index)))
    return list(index), np.array(at or [0], dtype=np.int64)[inverse]


def figures(counted: Counted, key: np.ndarray, n: int) -> list[dict]:
    """Spots, revenue, average unit rate, median, p25, p75 and rate per :30 of each of the n keys,
    from the entries' key index `key`. Quartiles are exact and inclusive (rates.quartiles' walk,
    for every key at once): the (key, rate) cells in order, their spots' running total, and the
    rates either side of position (spots − 1) × q."""
    if not len(key):
        return [dict(_NONE) for _ in range(n)]
    rate_values, rate_code = counted.rate_codes()
    inverse, (cell_key, cell_rate) = rate_summary._group([key, rate_code], len(key))
    cells = len(cell_key)
    spots = np.rint(np.bincount(inverse, weights=counted.spots, minlength=cells)).astype(np.int64)
    timed = np.bincount(inverse, weights=counted.timed, minlength=cells)
    seconds = np.bincount(inverse, weights=counted.seconds, minlength=cells)
    rate = rate_values[cell_rate]
    total = np.rint(np.bincount(cell_key, weights=spots, minlength=n)).astype(np.int64)
    revenue = np.bincount(cell_key, weights=rate * spots, minlength=n)
    timed_revenue = np.bincount(cell_key, weights=rate * timed, minlength=n)
    secs = np.bincount(cell_key, weights=seconds, minlength=n)
    ends, start = np.cumsum(spots), np.cumsum(total) - total

    def nth(i: np.ndarray) -> np.ndarray:        # each key's i-th rate (0-based) of its ordered spots
        return rate[np.minimum(np.searchsorted(ends, start + i, side="right"), cells - 1)]

    m = np.maximum(total - 1, 0)
    quarters = []
    for i in (1, 2, 3):
        j = i * m // 4
        delta = i * m - 4 * j
        quarters.append(((nth(j) * (4 - delta) + nth(j + 1) * delta) / 4).tolist())
    out = []
    for n_spots, rev, timed_rev, sec, p25, median, p75 in zip(
            total.tolist(), revenue.tolist(), timed_revenue.tolist(), secs.tolist(), *quarters):
        if not n_spots:
            out.append(dict(_NONE))
            continue
        out.append({"spots": n_spots, "revenue": round(rev, 2), "average": round(rev / n_spots, 2),
                    "median": round(median, 2), "p25": round(p25, 2), "p75": round(p75, 2),
                    "per_30": round(timed_rev / (sec / 30), 2) if sec else None})
    return out


_NONE = {"spots": 0, "revenue": 0.0, "average": None, "median": None, "p25": None, "p75": None, "per_30": None}


def volumes(counted: Counted, keys: list, key: np.ndarray) -> dict:
    """{key: (spots, revenue)} of the entries' key index `key` (last year's, for the change)."""
    n = len(keys)
    spots = np.bincount(key, weights=counted.spots, minlength=n).tolist() if len(key) else [0] * n
    revenue = np.bincount(key, weights=counted.rate * counted.spots, minlength=n).tolist() if len(key) else [0.0] * n
    return {k: (int(round(a)), b) for k, a, b in zip(keys, spots, revenue)}


def _change(now: float | None, before: float | None) -> float | None:
    return round(100.0 * (now - before) / before, 1) if now is not None and before else None


def _with_last_year(row: dict, last_year: tuple[int, float] | None) -> dict:
    spots, revenue = last_year or (0, 0.0)
    average = revenue / spots if spots else None
    row["rate_change"] = _change(row["revenue"] / row["spots"] if row["spots"] else None, average)
    row["volume_change"] = _change(row["spots"], spots)
    return row


COLUMNS = [Column("spots", "Spots", "int"), Column("revenue", "Revenue", "money"),
           Column("average", "Average rate", "money"), Column("median", "Median", "money"),
           Column("p25", "25th pct", "money", minor=True), Column("p75", "75th pct", "money", minor=True),
           Column("per_30", "Rate per :30", "money"), Column("rate_change", "Rate vs last year", "change_pct"),
           Column("volume_change", "Spots vs last year", "change_pct", minor=True),
           Column("note", "Note", minor=True)]


def rates_overview(conn: sqlite3.Connection, path: str, filters: RateFilters, today: date) -> Report:
    """The overview; `path` is the page's own, which every drill-down link opens again."""
    closed = closed_months(conn)
    first, last = resolve_period(filters, closed, today)
    ly_first, ly_last = _months_back(first, 12), _months_back(last, 12)
    groups, firsts = _languages(conn), first_months(conn)
    options = _options(conn)
    markets = {m["code"]: f"{m['name']} ({m['code']})" for m in options["markets"]} | {"": "(no market)"}
    sectors = {s["code"]: s["name"] for s in options["sectors"]}
    customers = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, name, sector_code FROM customers")}
    now = collect(conn, filters, first, last, groups, firsts, card=True)
    before = collect(conn, filters, ly_first, ly_last, groups, firsts)

    def sector_of(cid):
        return customers.get(cid, ("", None))[1] or NONE

    # How each dimension's values are regrouped (None: as they are), named and linked; sector,
    # tenure and customer are the customers' entries regrouped.
    naming = {
        "language": (lambda code: language_group(code, groups), lambda g: g, lambda g: g),
        "market": (None, lambda m: markets.get(m, m), lambda m: m or NONE),
        "daypart": (None, lambda d: rates.DAYPART_NAMES.get(d, d), lambda d: d or NONE),
        "day": (None, lambda w: rates.DAY_NAMES[w], lambda w: "weekend" if w else "weekday"),
        "length": (None, rates.length_label, str),
        "revenue_type": (None, lambda t: t, lambda t: t),
        "ae": (None, lambda a: a, lambda a: a),
        "sector": (sector_of, lambda s: sectors.get(s, UNASSIGNED) if s != NONE else UNASSIGNED, lambda s: s),
        "tenure": (lambda c: rates.tenure(firsts.get(c, last), last), lambda t: rates.TENURE_NAMES[t],
                   lambda t: t),
        "customer": (None, lambda c: customers.get(c, (f"Customer {c}",))[0], lambda c: c),
    }
    # Last year's tenure is as it stood at the end of last year's period.
    ly_naming = {"tenure": lambda c: rates.tenure(firsts.get(c, ly_last), ly_last)}
    # The next step of the drill-down first, then the other dimensions not filtered; the customers
    # (a long table) last unless they are the next step.
    open_ = [d for d in DIMENSIONS if getattr(filters, d) in (None, "")]
    step = next((d for d in DRILL if d in open_), None)
    shown = ([step] if step else []) + [d for d in open_ if d not in (step, "customer")]
    shown += ["customer"] if "customer" in open_ and step != "customer" else []
    tables = []
    for dim in shown:
        regroup, label, arg = naming[dim]
        source = "customer" if dim in ("sector", "tenure") else dim
        keys, key = keyed(now[source], regroup)
        ly_keys, ly_key = keyed(before[source], ly_naming.get(dim, regroup))
        ly = volumes(before[source], ly_keys, ly_key)
        rows = []
        for value, row in zip(keys, figures(now[source], key, len(keys))):
            row = _with_last_year({"name": label(value), **row}, ly.get(value))
            row["few"] = row["spots"] < FEW_SPOTS
            row["note"] = "few spots" if row["few"] else ""
            # Only the drill-down's next step links (language → market → daypart → customer): links
            # from every table would compose 2^10 pages of filters, each as many links again.
            row["href"] = _link(path, filters.args(**{dim: arg(value)})) if dim == step else None
            if dim == "customer":
                row["customer_id"] = value
            rows.append(row)
        rows.sort(key=lambda r: (-r["revenue"], r["name"]))
        columns = [Column("name", TITLES[dim])] + COLUMNS
        if dim == "customer":
            columns.append(Column("customer_id", "Customer id", "hidden"))
        tables.append(Table(dim, f"Rates by {TITLES[dim] if dim == 'ae' else TITLES[dim].lower()}", columns, rows))
    keys, key = keyed(now["all"])
    total = figures(now["all"], key, len(keys))[0] if keys else dict(_NONE)
    ly_keys, ly_key = keyed(before["all"])
    ly_total = volumes(before["all"], ly_keys, ly_key).get("", (0, 0.0))
    total = _with_last_year({"name": "Total", **total}, ly_total)
    total["note"] = "few spots" if total["spots"] < FEW_SPOTS else ""
    for table in tables:
        if table.rows:
            table.totals = total
    tables.append(card(conn, filters, first, last, groups, firsts, markets, now.get("_card")))
    return Report(
        name="rates",
        filters={**{k: v for k, v in asdict(filters).items() if v is not None}, "first_month": first,
                 "last_month": last},
        options=options | {"period_choices": [(k, v) for k, v in PERIODS.items() if k != "custom"]},
        extra={"period_words": period_words(filters, first, last, closed),
               "last_year": f"{month_label(ly_first)} to {month_label(ly_last)}" if ly_first != ly_last
               else month_label(ly_first),
               "total": total, "crumbs": crumbs(path, filters, markets, sectors, customers, groups),
               "tenure_words": rates.TENURE_WORDS, "few": FEW_SPOTS},
        tables=tables,
    )


def cell_totals(cells) -> list:
    """[spots, revenue, timed revenue, seconds] cells added up (the card's, the lengths', a
    customer's or a trend's cells all have this shape)."""
    total = [0, 0.0, 0.0, 0]
    for cell in cells:
        for i in range(4):
            total[i] += cell[i]
    return total


def _cube_card(names: dict, entries) -> dict:
    """card_cells() from the months' cube entries (every AE's and customer's)."""
    (codes, markets, parts), sums = rate_summary.sums(
        [entries["language"], entries["market"], entries["daypart"]], rate_summary.measures(entries))
    return {(names["language"][c], names["market"][m], names["daypart"][d]): [int(a), b, t, int(e)]
            for c, m, d, a, b, t, e in zip(codes.tolist(), markets.tolist(), parts.tolist(), *(x.tolist() for x in sums))}


def card_cells(conn: sqlite3.Connection, first: int, last: int) -> dict:
    """{(language code, market, daypart): [spots, revenue, revenue of the spots with a length, their
    seconds]} over every AE and customer in the months first..last, from the card cut; kept as the
    cuts are (rate_summary.PERIODS). Shared: read it, change nothing of it."""
    return rate_summary.for_period(conn, "card cells", first, last, lambda: _card_cells(conn, first, last))


def _card_cells(conn: sqlite3.Connection, first: int, last: int) -> dict:
    names, entries = rate_summary.load_cut(conn, "card", first, last)
    (values,), sums = rate_summary.sums(
        [entries["value"]], [entries["spots"], entries["revenue"], entries["timed_revenue"], entries["seconds"]])
    return {tuple(names[v].split(rate_summary.SEP)): [int(a), b, c, int(d)]
            for v, a, b, c, d in zip(values.tolist(), *(x.tolist() for x in sums))}


def card(conn, filters: RateFilters, first: int, last: int, groups, firsts, markets, company: dict | None = None) -> Table:
    """The company's card: average rate and rate per :30 by language group × market × daypart over
    every AE and customer, so an AE prices against it. No names, no revenue: averages only.
    `company`: card_cells() already added up (from the cube a drilled page read)."""
    cells: dict = {}
    company = card_cells(conn, first, last) if company is None else company
    for (code, market, part), (spots, revenue, timed_revenue, seconds) in company.items():
        group = language_group(code, groups)
        if filters.language and group.lower() != filters.language.lower() and code != filters.language.upper():
            continue
        if filters.market and market != ("" if filters.market == NONE else filters.market):
            continue
        if filters.daypart and part != ("" if filters.daypart == NONE else filters.daypart):
            continue
        cell = cells.setdefault((group, market, part), [0, 0.0, 0.0, 0.0])
        cell[0] += spots
        cell[1] += revenue
        cell[2] += timed_revenue
        cell[3] += seconds
    order = {key: i for i, (key, _, _) in enumerate(rates.DAYPARTS)}
    rows = []
    for (group, market, part), (spots, revenue, timed_revenue, seconds) in sorted(
            cells.items(), key=lambda c: (-c[1][0], c[0][0], markets.get(c[0][1], c[0][1]), order.get(c[0][2], 99))):
        rows.append({"language": group, "market": markets.get(market, market),
                     "daypart": rates.DAYPART_NAMES.get(part, part), "spots": spots,
                     "average": round(revenue / spots, 2),
                     "per_30": round(timed_revenue / (seconds / 30), 2) if seconds else None,
                     "note": "few spots" if spots < FEW_SPOTS else "", "few": spots < FEW_SPOTS})
    return Table("card", "The company's card: language × market × daypart, every AE",
                 [Column("language", "Language group"), Column("market", "Market"), Column("daypart", "Daypart"),
                  Column("spots", "Spots", "int"), Column("average", "Average rate", "money"),
                  Column("per_30", "Rate per :30", "money"), Column("note", "Note", minor=True)], rows)


def _link(path: str, args: dict) -> str:
    return f"{path}?{urlencode(args)}" if args else path


def crumbs(path: str, filters: RateFilters, markets, sectors, customers, groups) -> list[tuple[str, str]]:
    """The drill-down path: (text, link) from every counted spot to the filters applied, in the
    drill order; each step's link drops the steps after it."""
    out = [("All counted spots", _link(path, filters.args(**{d: None for d in DIMENSIONS})))]
    applied = [d for d in DRILL + DIMENSIONS if getattr(filters, d) not in (None, "")]
    applied = list(dict.fromkeys(applied))
    words = {
        "language": lambda v: v if v.lower() in {g.lower() for g in groups.values()} | {"other"}
        else f"{v} ({language_group(v.upper(), groups)})",
        "market": lambda v: markets.get("" if v == NONE else v, v),
        "daypart": lambda v: rates.DAYPART_NAMES.get("" if v == NONE else v, v),
        "day": lambda v: v.title(), "length": lambda v: "Other lengths" if v == "other" else rates.length_label(int(v)),
        "sector": lambda v: sectors.get(v, UNASSIGNED), "tenure": lambda v: rates.TENURE_NAMES.get(v, v),
        "customer": lambda v: customers.get(v, (f"Customer {v}",))[0],
    }
    for i, dim in enumerate(applied):
        later = {d: None for d in applied[i + 1:]}
        value = getattr(filters, dim)
        out.append((f"{TITLES[dim]}: {words.get(dim, str)(value)}", _link(path, filters.args(**later))))
    return out


def booked(conn: sqlite3.Connection, customer_id: int, ae: str) -> bool:
    """Whether `ae` has ever booked a spot of the customer: an ae sees only their own customers."""
    return conn.execute("SELECT 1 FROM customer_total_summary WHERE customer_id = ? AND ae = ? LIMIT 1",
                        (customer_id, ae)).fetchone() is not None
