"""Rate trends (/rates/trends, issue 14, DOMAIN.md §9): each value of one dimension's average unit
rate and rate per :30 month by month over the 24 broadcast months ending with the period's last,
how much that monthly average moves (coefficient of variation), and how concentrated each language
group's and market's revenue is in a few customers over the period.

The company's page reads rate_cut_summary: the dimension's own cut by month, and the
customer_card cut (customer × language × market × daypart) for the concentration. An AE's page
(`ae=`) reads that AE's entries of the months' cubes (rate_summary) instead. No customer is named: concentration is
shares only, so an AE's page names no one.
"""

from __future__ import annotations

import sqlite3
import statistics
from dataclasses import asdict
from datetime import date

import numpy as np

from ctvdb import rate_summary, rates
from ctvdb.web.params import month_label
from ctvdb.web.queries.base import Column, Report, Table, _months, _months_back, _options
from ctvdb.web.queries.rates import (
    FEW_SPOTS, NONE, PERIODS, TITLES, RateFilters, _languages, _link, cell_totals, closed_months, language_group,
    period_words, resolve_period,
)

DIMENSIONS = ("language", "market", "daypart", "day", "length", "revenue_type", "ae")
DEFAULT_DIMENSION = "language"
SPAN = 24           # months of the trend, ending with the period's last
TOP = 10            # the customers whose share of revenue the concentration gives
CHARTS = 3          # values drawn as a chart of their own, the largest by revenue
# The cut's value as the page keys it: the weekend flag and the length are numbers.
_VALUE_TYPE = {"day": int, "length": int}
# rate_summary's column of each dimension, for an AE's own rows.
_OWN_COLUMN = {"language": "language", "market": "market", "daypart": "daypart", "day": "weekend",
               "length": "length", "revenue_type": "revenue_type", "ae": "ae"}


def trend_months(last: int) -> list[int]:
    return _months(_months_back(last, SPAN - 1), last)


# Reading the summaries: {(value, month): [spots, revenue, timed revenue, seconds]} and
# {(customer, language code, market): revenue} ---------------------------------------------------

def _add(into: dict, key, spots: int, revenue: float, timed_revenue: float, seconds: float) -> None:
    cell = into.get(key)
    if cell is None:
        into[key] = [spots, revenue, timed_revenue, seconds]
    else:
        cell[0] += spots
        cell[1] += revenue
        cell[2] += timed_revenue
        cell[3] += seconds


def company_cells(conn: sqlite3.Connection, dimension: str, months: list[int]) -> dict:
    kind = _VALUE_TYPE.get(dimension, str)
    cells: dict = {}
    for month, values, entries in rate_summary.cut_months(conn, dimension, months[0], months[-1]):
        for value, spots, revenue, timed_revenue, seconds in rate_summary.grouped(
                [entries["value"]], [entries["spots"], entries["revenue"], entries["timed_revenue"], entries["seconds"]]):
            cells[(kind(values[value]), month)] = [int(spots), revenue, timed_revenue, seconds]
    return cells


class Revenues:
    """The period's revenue by customer × language code × market, as entries: customer ids, codes
    into `languages` and `markets`, revenue (what the concentration is computed from)."""

    def __init__(self):
        self.languages: dict[str, int] = {}
        self.markets: dict[str, int] = {}
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, customer: np.ndarray, languages: list[str], language: np.ndarray, markets: list[str],
            market: np.ndarray, revenue: np.ndarray) -> None:
        """Entries whose codes index their own `languages` and `markets` lists."""
        to_language = np.array([self.languages.setdefault(v, len(self.languages)) for v in languages] or [0])
        to_market = np.array([self.markets.setdefault(v, len(self.markets)) for v in markets] or [0])
        self.parts.append((customer, to_language[language], to_market[market], revenue))

    def columns(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            return tuple(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.int64, np.float64))
        return tuple(np.concatenate(column) for column in zip(*self.parts))


def company_customers(conn: sqlite3.Connection, first: int, last: int) -> Revenues:
    values, entries = rate_summary.load_cut(conn, "customer_card", first, last)
    parts = [v.split(rate_summary.SEP) for v in values]
    languages = [p[0] for p in parts]
    markets = [p[1] for p in parts]
    out = Revenues()
    # A value's language and market are its own code: the value's index into both lists.
    out.add(entries["customer"], languages, entries["value"], markets, entries["value"], entries["revenue"])
    return out


def own_cells(conn: sqlite3.Connection, ae: str, dimension: str, months: list[int], first: int,
              last: int) -> tuple[dict, Revenues]:
    """An AE's (cells, revenues) from their entries of the cube, month by month over the months of
    the trend and of the period."""
    cells: dict = {}
    customers = Revenues()
    column = _OWN_COLUMN[dimension]
    for month, names, entries in rate_summary.cube_months(conn, min(months[0], first), last, ae):
        if not len(entries):
            continue
        figures = rate_summary.measures(entries)
        if months[0] <= month:
            for code, n, rev, timed_rev, secs in rate_summary.grouped([entries[column]], figures):
                value = names[column][code] if column in rate_summary.CODED else code
                _add(cells, (value, month), int(n), rev, timed_rev, secs)
        if first <= month <= last:
            customers.add(entries["customer"], names["language"], entries["language"], names["market"],
                          entries["market"], figures[1])
    return cells, customers


# The figures ----------------------------------------------------------------------------------

def _regroup(cells: dict, name) -> dict:
    """{name(value): {month: cell}}: language codes into their groups, the rest as they are."""
    out: dict = {}
    for (value, month), cell in cells.items():
        _add(out.setdefault(name(value), {}), month, *cell)
    return out


def _rate(revenue: float, spots: int) -> float | None:
    return round(revenue / spots, 2) if spots else None


def _per_30(timed_revenue: float, seconds: float) -> float | None:
    return round(timed_revenue / (seconds / 30), 2) if seconds else None


def variation(averages: list[float]) -> float | None:
    """The coefficient of variation, in percent: population standard deviation ÷ mean of the
    monthly average rates of the months that have spots."""
    if not averages:
        return None
    mean = statistics.fmean(averages)
    return round(100.0 * statistics.pstdev(averages) / mean, 1) if mean else None


def _few(row: dict) -> dict:
    row["few"] = row["spots"] < FEW_SPOTS
    row["note"] = "few spots" if row["few"] else ""
    return row


def value_row(name: str, by_month: dict) -> dict:
    spots, revenue, timed_revenue, seconds = cell_totals(by_month.values())
    return _few({"name": name, "spots": spots, "revenue": round(revenue, 2), "average": _rate(revenue, spots),
                 "per_30": _per_30(timed_revenue, seconds), "months": len(by_month),
                 "cv": variation([c[1] / c[0] for c in by_month.values() if c[0]])})


def month_rows(name: str, by_month: dict, months: list[int]) -> list[dict]:
    return [_few({"name": name, "month": month_label(m), "broadcast_month": m, "spots": c[0],
                  "revenue": round(c[1], 2), "average": _rate(c[1], c[0]), "per_30": _per_30(c[2], c[3])})
            for m in months if (c := by_month.get(m))]


def concentration(revenues: list[float]) -> dict:
    """The top customers' share of revenue and the Herfindahl index: the sum of every customer's
    squared share in percent (0–10,000; 10,000 is one customer)."""
    total = sum(revenues)
    if not total:
        return {"customers": len(revenues), "revenue": 0.0, "top_share": None, "hhi": None}
    ranked = sorted(revenues, reverse=True)
    return {"customers": len(revenues), "revenue": round(total, 2),
            "top_share": round(100.0 * sum(ranked[:TOP]) / total, 1),
            "hhi": round(sum((100.0 * r / total) ** 2 for r in revenues))}


def concentration_rows(revenues: Revenues, key, name, link) -> tuple[list[dict], dict]:
    """(a row per key(language code, market), named name(key) and linked link(key); the total over
    every customer). numpy adds each customer's revenue up per key; Python sees a list of a key's
    customers' revenues."""
    customer, language, market, revenue = revenues.columns()
    languages, markets = list(revenues.languages), list(revenues.markets)
    # Each (language, market) present, and the index of its key.
    index: dict = {}
    pair_of, (lang_of, market_of) = rate_summary._group([language, market], len(customer))
    key_of = [index.setdefault(key(languages[lang], markets[mkt]), len(index))
              for lang, mkt in zip(lang_of.tolist(), market_of.tolist())]
    keys = np.array(key_of or [0], dtype=np.int64)[pair_of]
    (by_key, by_customer), sums = rate_summary.sums([keys, customer], [revenue]) if len(customer) else \
        ((np.zeros(0, dtype=np.int64),) * 2, [np.zeros(0)])
    shares: dict = {}
    for k, r in zip(by_key.tolist(), sums[0].tolist()):
        shares.setdefault(k, []).append(r)
    names = list(index)
    rows = [{"name": name(names[k]), **concentration(rs), "href": link(names[k])} for k, rs in shares.items()]
    rows.sort(key=lambda r: (-r["revenue"], r["name"]))
    (_, everyone) = rate_summary.sums([customer], [revenue]) if len(customer) else (None, [np.zeros(0)])
    return rows, {"name": "All", **concentration(everyone[0].tolist())}


# The page -------------------------------------------------------------------------------------

VALUE_COLUMNS = [Column("spots", "Spots", "int"), Column("revenue", "Revenue", "money", minor=True),
                 Column("average", "Average rate", "money"), Column("per_30", "Rate per :30", "money"),
                 Column("cv", "Variation (CV %)", "pct"), Column("months", "Months with spots", "int", minor=True),
                 Column("note", "Note", minor=True)]
MONTH_COLUMNS = [Column("month", "Month"), Column("spots", "Spots", "int"),
                 Column("revenue", "Revenue", "money", minor=True), Column("average", "Average rate", "money"),
                 Column("per_30", "Rate per :30", "money", minor=True), Column("note", "Note", minor=True),
                 Column("broadcast_month", "Broadcast month", "hidden")]
CONCENTRATION_COLUMNS = [Column("customers", "Customers", "int"), Column("revenue", "Revenue", "money", minor=True),
                         Column("top_share", f"Top {TOP} customers' share", "pct"),
                         Column("hhi", "Herfindahl index", "int")]


def _naming(groups: dict, options: dict) -> dict:
    """Each dimension's (name of a value, the value's argument on /rates/)."""
    markets = {m["code"]: f"{m['name']} ({m['code']})" for m in options["markets"]} | {"": "(no market)"}
    return {
        "language": (lambda code: language_group(code, groups), lambda code: language_group(code, groups)),
        "market": (lambda m: markets.get(m, m), lambda m: m or NONE),
        "daypart": (lambda d: rates.DAYPART_NAMES.get(d, d), lambda d: d or NONE),
        "day": (lambda w: rates.DAY_NAMES[w], lambda w: "weekend" if w else "weekday"),
        "length": (rates.length_label, str),
        "revenue_type": (lambda t: t, lambda t: t),
        "ae": (lambda a: a, lambda a: a),
    }


def rates_trends(conn: sqlite3.Connection, rates_path: str, dimension: str, filters: RateFilters,
                 today: date) -> Report:
    """The trend of `dimension`'s values; `rates_path` is /rates/, which each name opens drilled."""
    closed = closed_months(conn)
    first, last = resolve_period(filters, closed, today)
    months = trend_months(last)
    groups, options = _languages(conn), _options(conn)
    naming = _naming(groups, options)
    if filters.ae:
        cells, customers = own_cells(conn, filters.ae, dimension, months, first, last)
    else:
        cells, customers = company_cells(conn, dimension, months), company_customers(conn, first, last)
    name, arg = naming[dimension]
    by_value = _regroup(cells, name)
    args = {name(value): arg(value) for value, _ in cells}

    def link(dim: str, value) -> str:
        return _link(rates_path, RateFilters(filters.period, filters.from_month, filters.to_month, filters.ae)
                     .args(**{dim: value}))

    values = [value_row(n, by_month) | {"href": link(dimension, args[n])} for n, by_month in by_value.items()]
    values.sort(key=lambda r: (-r["revenue"], r["name"]))
    everyone = _regroup(cells, lambda v: "Total").get("Total", {})
    total = value_row("Total", everyone)
    per_month = [row for v in values for row in month_rows(v["name"], by_value[v["name"]], months)]
    title = TITLES[dimension]
    language_rows, language_total = concentration_rows(
        customers, lambda lang, _: language_group(lang, groups), lambda g: g, lambda g: link("language", g))
    market_rows, market_total = concentration_rows(
        customers, lambda _, m: m, naming["market"][0], lambda m: link("market", m or NONE))
    whose = f"{filters.ae}'s " if filters.ae else ""
    charts = [(f"Average rate by month: all {whose}counted spots",
               [(month_label(m), _rate(everyone[m][1], everyone[m][0]) if m in everyone else 0.0) for m in months])]
    charts += [(f"Average rate by month: {v['name']}",
                [(month_label(m), _rate(c[1], c[0]) if (c := by_value[v["name"]].get(m)) else 0.0) for m in months])
               for v in values[:CHARTS]]
    span = f"{month_label(months[0])} to {month_label(months[-1])}"
    return Report(
        name="rates_trends",
        filters={**{k: v for k, v in asdict(filters).items() if v is not None}, "dimension": dimension,
                 "first_month": first, "last_month": last},
        options=options | {"period_choices": [(k, v) for k, v in PERIODS.items() if k != "custom"],
                           "dimensions": [(d, TITLES[d]) for d in DIMENSIONS]},
        extra={"period_words": period_words(filters, first, last, closed), "span": span, "charts": charts,
               "few": FEW_SPOTS, "top": TOP, "dimension_title": title, "charted": CHARTS},
        tables=[
            Table("values", f"{title}: {span}", [Column("name", title)] + VALUE_COLUMNS, values, total),
            Table("months", f"{title} by month", [Column("name", title)] + MONTH_COLUMNS, per_month),
            Table("language_concentration", "Concentration by language group",
                  [Column("name", "Language group")] + CONCENTRATION_COLUMNS, language_rows, language_total),
            Table("market_concentration", "Concentration by market",
                  [Column("name", "Market")] + CONCENTRATION_COLUMNS, market_rows, market_total),
        ],
    )
