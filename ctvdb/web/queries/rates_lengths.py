"""The mix of spot lengths (/rates/lengths, issue 14): how many spots and how much revenue are
:15, :30, :60, :120 or another length, what a second sells for in each, and who buys the short
ones: the same mix by language group, market and customer, with each row's rate per :30 beside the
company's (a buyer of :15s pays more per :30 for the same air).

The company's page reads the cuts `length`, `length_language`, `length_market` and
`length_customer` of rate_cut_summary; an ae's reads their own entries of the cube (rate_summary). The company's
rate per :30 beside each row is every AE's, from the `length` cut, on both.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from datetime import date

from ctvdb import rate_summary, rates
from ctvdb.web.queries.base import Column, Report, Table, _options
from ctvdb.web.queries.rates import (
    FEW_SPOTS, PERIODS, RateFilters, _languages, cell_totals, closed_months, language_group, period_words, resolve_period,
)

CLASSES = tuple(str(s) for s in rates.STANDARD_LENGTHS) + ("other",)
DEFINITIONS = (
    "Counted: spots with a unit rate (gross) above zero, not Trade, not bonus (BNS), by broadcast month. Share ="
    " a length's spots (or revenue) ÷ all. Rate per second = the revenue of the spots with a length ÷ their"
    " seconds; rate per :30 = that × 30. Other: any length but :15, :30, :60 and :120, and spots with no length"
    " (counted in spots and revenue, not in a rate per second)."
)


def _add(into: dict, key, spots: int, revenue: float, seconds_each: int) -> None:
    cell = into.setdefault(key, [0, 0.0, 0.0, 0])
    cell[0] += spots
    cell[1] += revenue
    if seconds_each:
        cell[2] += revenue
        cell[3] += seconds_each * spots


def _cuts(conn: sqlite3.Connection, first: int, last: int) -> dict:
    """{"length": {seconds: cell}, "language": {(seconds, code): cell}, "market": {(seconds,
    market): cell}, "customer": {(seconds, customer id): cell}}, cell = [spots, revenue, timed
    revenue, seconds], of every AE's spots."""
    out: dict = {"length": {}, "language": {}, "market": {}, "customer": {}}
    for cut in ("length", "length_language", "length_market", "length_customer"):
        values, entries = rate_summary.load_cut(conn, cut, first, last)
        for cid, value, spots, revenue, timed, seconds in rate_summary.grouped(
                [entries["customer"], entries["value"]],
                [entries["spots"], entries["revenue"], entries["timed_revenue"], entries["seconds"]]):
            length, _, rest = values[value].partition(rate_summary.SEP)
            name = cut.removeprefix("length_")
            key = int(length) if cut == "length" else (int(length), cid if cut == "length_customer" else rest)
            out[name][key] = [int(spots), revenue, timed, int(seconds)]
    return out


def _own(conn: sqlite3.Connection, first: int, last: int, ae: str) -> dict:
    """_cuts' shape from `ae`'s own entries of the cube."""
    out: dict = {"length": {}, "language": {}, "market": {}, "customer": {}}
    names, entries = rate_summary.own_cube(conn, ae, first, last)
    figures = rate_summary.measures(entries)
    for length, code, market, cid, spots, revenue in rate_summary.grouped(
            [entries["length"], entries["language"], entries["market"], entries["customer"]], figures[:2]):
        code, market = names["language"][code], names["market"][market]
        for name, key in (("length", length), ("language", (length, code)), ("market", (length, market)),
                          ("customer", (length, cid))):
            _add(out[name], key, int(spots), revenue, length)
    return out


def _per(revenue: float, seconds: int, unit: int) -> float | None:
    return round(revenue / seconds * unit, 2) if seconds else None


def mix_table(by_length: dict) -> Table:
    """One row per length class, in length order, with its share of all spots and revenue."""
    classes: dict = {}
    for seconds, cell in by_length.items():
        classes.setdefault(rates.length_class(seconds or None), {})[seconds] = cell
    total = cell_totals(by_length.values())
    rows = []
    for name in CLASSES:
        if name not in classes:
            continue
        spots, revenue, timed, seconds = cell_totals(classes[name].values())
        label = (f":{name}" if name != "other" else
                 "Other (" + ", ".join(f"{s} s" if s else "no length" for s in sorted(classes[name])) + ")")
        rows.append({"name": label, "length": name, "spots": spots,
                     "spot_share": round(100.0 * spots / total[0], 1), "revenue": round(revenue, 2),
                     "revenue_share": round(100.0 * revenue / total[1], 1) if total[1] else None,
                     "average": round(revenue / spots, 2), "per_second": _per(timed, seconds, 1),
                     "per_30": _per(timed, seconds, 30), "few": spots < FEW_SPOTS,
                     "note": "few spots" if spots < FEW_SPOTS else ""})
    totals = None
    if rows:
        spots, revenue, timed, seconds = total
        totals = {"name": "Total", "spots": spots, "spot_share": 100.0, "revenue": round(revenue, 2),
                  "revenue_share": 100.0, "average": round(revenue / spots, 2), "per_second": _per(timed, seconds, 1),
                  "per_30": _per(timed, seconds, 30), "note": ""}
    return Table("mix", "The mix of lengths", [
        Column("name", "Length"), Column("spots", "Spots", "int"), Column("spot_share", "Share of spots", "pct"),
        Column("revenue", "Revenue", "money"), Column("revenue_share", "Share of revenue", "pct"),
        Column("average", "Average rate", "money", minor=True), Column("per_second", "Rate per second", "money"),
        Column("per_30", "Rate per :30", "money"), Column("note", "Note", minor=True)], rows, totals)


def _by_row(cells: dict, name_of) -> dict:
    """{row value: {length class: cell}} of {(seconds, value): cell}."""
    out: dict = {}
    for (seconds, value), cell in cells.items():
        by_class = out.setdefault(name_of(value), {})
        name = rates.length_class(seconds or None)
        by_class[name] = cell_totals([by_class.get(name, [0, 0.0, 0.0, 0]), cell])
    return out


def mix_rows(by_value: dict, label, company_per_30: float | None, id_key: str | None = None) -> list[dict]:
    """A row per value: its spots' shares by length class, its rate per :30 and the company's.
    `id_key`: the row keeps its value under that name (the customer's id, for its link)."""
    rows = []
    for value, by_class in by_value.items():
        spots, revenue, timed, seconds = cell_totals(by_class.values())
        per_30 = _per(timed, seconds, 30)
        row = {"name": label(value), "spots": spots, "revenue": round(revenue, 2)} | ({id_key: value} if id_key else {})
        for name in CLASSES:
            row[f"share_{name}"] = round(100.0 * by_class.get(name, [0])[0] / spots, 1)
        row |= {"per_30": per_30, "company_per_30": round(company_per_30, 2) if company_per_30 else None,
                "vs_company": round(100.0 * (timed / seconds * 30 - company_per_30) / company_per_30, 1)
                if seconds and company_per_30 else None,
                "few": spots < FEW_SPOTS, "note": "few spots" if spots < FEW_SPOTS else ""}
        rows.append(row)
    rows.sort(key=lambda r: (-r["revenue"], r["name"]))
    return rows


def _columns(first: Column) -> list[Column]:
    return ([first, Column("spots", "Spots", "int"), Column("revenue", "Revenue", "money", minor=True)]
            + [Column(f"share_{name}", "Other %" if name == "other" else f":{name} %", "pct",
                      minor=name in ("120", "other")) for name in CLASSES]
            + [Column("per_30", "Rate per :30", "money"), Column("company_per_30", "Company per :30", "money", minor=True),
               Column("vs_company", "vs company", "change_pct"), Column("note", "Note", minor=True)])


def rates_lengths(conn: sqlite3.Connection, filters: RateFilters, today: date) -> Report:
    closed = closed_months(conn)
    first, last = resolve_period(filters, closed, today)
    company = _cuts(conn, first, last)
    shown = _own(conn, first, last, filters.ae) if filters.ae else company
    company_total = cell_totals(company["length"].values())
    # unrounded: each row's "vs company" is against the exact figure
    company_per_30 = company_total[2] / company_total[3] * 30 if company_total[3] else None
    groups = _languages(conn)
    options = _options(conn)
    markets = {m["code"]: f"{m['name']} ({m['code']})" for m in options["markets"]} | {"": "(no market)"}
    names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM customers")}
    mix = mix_table(shown["length"])
    language = mix_rows(_by_row(shown["language"], lambda c: language_group(c, groups)), lambda g: g, company_per_30)
    market = mix_rows(_by_row(shown["market"], lambda m: m), lambda m: markets.get(m, m), company_per_30)
    customer = mix_rows(_by_row(shown["customer"], lambda c: c), lambda c: names.get(c, f"Customer {c}"),
                        company_per_30, id_key="customer_id")
    tables = [mix,
              Table("language", "Lengths by language group", _columns(Column("name", "Language group")), language),
              Table("market", "Lengths by market", _columns(Column("name", "Market")), market),
              Table("customer", "Lengths by customer", _columns(Column("name", "Customer", "customer"))
                    + [Column("customer_id", "Customer id", "hidden")], customer)]
    return Report(
        name="rates_lengths",
        filters={**{k: v for k, v in asdict(filters).items() if v is not None}, "first_month": first,
                 "last_month": last},
        options={"aes": options["aes"], "period_choices": [(k, v) for k, v in PERIODS.items() if k != "custom"]},
        extra={"period_words": period_words(filters, first, last, closed), "definitions": DEFINITIONS,
               "few": FEW_SPOTS, "company_per_30": _per(company_total[2], company_total[3], 30), "totals": mix.totals or {},
               "chart": [(r["name"], r["revenue"]) for r in mix.rows]},
        tables=tables,
    )
