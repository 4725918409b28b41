"""The shape every report has (`Report` of `Table`s of `Column`s), the data version, and the
pieces the report queries share: filter clauses, the year, the customer summaries."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ctvdb import codes
from ctvdb.names import fold
from ctvdb.web.params import Filters, month_label

IAS = "Internal Ad Sales"
MONTH_KEYS = tuple(f"m{i:02d}" for i in range(1, 13))
UNASSIGNED = "Unassigned"
# `revenue_class=`: a report shows regular and irregular revenue unless told otherwise.
CLASS_WORDS = {"regular": "Regular only", "irregular": "Irregular only"}
CLASS_PAGES = frozenset({"monthly_summary", "customer_revenue", "ae_dashboard", "management_performance",
                         "sector_analysis"})


@dataclass
class Column:
    """One column of a table. `kind` says what the value is, so that the page, the CSV and the
    XLSX each show it right:

    text, int, id         as they are
    money                 dollars (a float); 0 shows as "—" on a page, a number in downloads
    change                money with its sign (+1,200.00 / −350.00), negative in red
    pct                   a percentage in percent units (12.5 = 12.5 %); None shows as "—"
    change_pct            a percentage with its sign, negative in red
    month                 a broadcast month as YYYYMM (202611): shown Nov-26, a date in XLSX,
                          linked to that month's figures
    date                  'YYYY-MM-DD' text; datetime: an ISO UTC timestamp, shown Pacific
    customer              the customer's name, linked to its detail page by row["customer_id"]
    ae                    an AE's name, linked to that AE's figures
    sector                a sector's name, linked to its customers by row["sector_code"]
    agency                an agency's name, linked to the customer revenue report searched for it
    actions               a page's own forms for the row (the table macro's caller); pages only
    hidden                downloads only (an id the links use)

    `minor` columns are the first to go on a phone; every download keeps them.
    """

    key: str
    label: str
    kind: str = "text"          # also `pace`: a % of budget, shaded behind / near / ahead
    minor: bool = False


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    totals: dict | None = None


@dataclass
class Report:
    name: str
    filters: dict                                   # the filters as applied (defaults resolved)
    tables: list[Table]
    options: dict = field(default_factory=dict)     # choices for the filter form
    extra: dict = field(default_factory=dict)       # page-only facts (headline figures, charts)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


# Data version and freshness --------------------------------------------------------------------

def data_version(conn: sqlite3.Connection) -> tuple[int, int, int, int]:
    """Changes whenever anything a report shows can change: an import, a reference load, a close,
    a person's change to who a customer is (the change log)."""
    row = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM import_batches WHERE status = 'COMPLETED'),"
        "       (SELECT coalesce(max(id), 0) FROM reference_loads),"
        "       (SELECT count(*) FROM month_closures),"
        "       (SELECT coalesce(max(id), 0) FROM changes)"
        # v16: a budget or forecast changed on the planning page, pasted or loaded (ctvdb/planning.py)
        "     , (SELECT coalesce(max(id), 0) FROM plan_history)"
    ).fetchone()
    return tuple(row)


def last_completed_import(conn: sqlite3.Connection) -> dict | None:
    row = conn.execute(
        "SELECT id, finished_at, mode, source_file FROM import_batches"
        " WHERE status = 'COMPLETED' ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    return dict(row) if row else None


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


# Shared pieces -----------------------------------------------------------------------------------

def _options(conn: sqlite3.Connection) -> dict:
    # Two subqueries: SQLite answers a lone min() or max() from the primary key in a seek,
    # but scans the table for both in one SELECT.
    bounds = conn.execute(
        "SELECT (SELECT min(broadcast_month) FROM customer_total_summary),"
        " (SELECT max(broadcast_month) FROM customer_total_summary)"
    ).fetchone()
    years = list(range(bounds[1] // 100, bounds[0] // 100 - 1, -1)) if bounds[0] else []
    return {
        "years": years,
        # A skip-scan of the spots_ae_month index: one seek per AE instead of reading every spot.
        "aes": [r[0] for r in conn.execute(
            "WITH RECURSIVE a(ae) AS (SELECT min(ae) FROM spots"
            " UNION ALL SELECT (SELECT min(ae) FROM spots WHERE ae > a.ae) FROM a WHERE a.ae IS NOT NULL)"
            " SELECT ae FROM a WHERE ae IS NOT NULL")],
        "markets": [dict(r) for r in conn.execute("SELECT code, name FROM markets ORDER BY code")],
        "revenue_types": [r[0] for r in conn.execute(
            "SELECT name FROM revenue_types WHERE is_revenue = 1 ORDER BY name")],
        "sectors": [dict(r) for r in conn.execute("SELECT code, name FROM sectors ORDER BY name")],
    }


def _year(filters: Filters, options: dict, today_year: int) -> int:
    """The asked year; else this year if it has data; else the latest year with data."""
    if filters.year:
        return filters.year
    years = options["years"]
    return today_year if not years or today_year in years else years[0]


def period_months(filters: Filters, year: int, today) -> tuple[int, int]:
    """(first, last) broadcast month of the period a page shows: a from/to range (at most ten
    years, the latest kept), a quarter, this month, quarter or year to date in `year` (today's
    month of that year: last year's YTD is the same months), or the whole year."""
    if filters.from_month or filters.to_month:
        first = filters.from_month or (filters.to_month // 100) * 100 + 1
        last = filters.to_month or (first // 100) * 100 + 12
        months = _months(first, last)
        return (months[-120] if len(months) > 120 else first), last
    if filters.quarter:
        return year * 100 + 3 * filters.quarter - 2, year * 100 + 3 * filters.quarter
    month = current_month(today) % 100
    if filters.period == "month":
        return year * 100 + month, year * 100 + month
    if filters.period == "qtd":
        return year * 100 + 3 * ((month - 1) // 3) + 1, year * 100 + month
    if filters.period == "ytd":
        return year * 100 + 1, year * 100 + month
    return year * 100 + 1, year * 100 + 12


# "% of budget" shading, said in words on the pages that shade it.
PACE_BEHIND, PACE_AHEAD = 90.0, 100.0
PACE_WORDS = (f"behind under {PACE_BEHIND:.0f} % of budget, near from {PACE_BEHIND:.0f} % to"
              f" {PACE_AHEAD:.0f} %, ahead from {PACE_AHEAD:.0f} %")


def pace_class(pct: float) -> str:
    return "pace-behind" if pct < PACE_BEHIND else "pace-near" if pct < PACE_AHEAD else "pace-ahead"


def current_month(today) -> int:
    """The broadcast month today is in, as YYYYMM (codes.broadcast_month)."""
    return codes.broadcast_month(today)


def _where(filters: Filters, alias: str = "s", *, revenue_type: bool = True,
           customer: bool = False, classes: bool = True) -> tuple[str, list]:
    """AND-clauses for the common filters against a summary table aliased `alias`."""
    sql, params = [], []
    if filters.ae:
        sql.append(f"{alias}.ae = ?")
        params.append(filters.ae)
    if filters.market:
        sql.append(f"{alias}.market_code = ?")
        params.append(filters.market)
    if revenue_type and filters.revenue_type:
        sql.append(f"{alias}.revenue_type = ?")
        params.append(filters.revenue_type)
    chosen, chosen_params = [], []
    if customer and filters.sector:
        if filters.sector == "NONE":
            chosen.append("c.sector_code IS NULL")
        else:
            chosen.append("c.sector_code = ?")
            chosen_params.append(filters.sector)
    if customer and filters.q:
        # Folded on both sides (names.fold, registered in SQL by db) and without spaces, so that
        # "pho hoa" finds "Phở Hòa" and "cocacola" finds "Coca-Cola". A search that folds to
        # nothing ("-") finds nothing rather than everything.
        folded = fold(filters.q).replace(" ", "")
        if folded:
            chosen.append("(instr(replace(fold(c.name), ' ', ''), ?) > 0"
                          " OR c.agency_chain <> '' AND instr(replace(fold(c.agency_chain), ' ', ''), ?) > 0)")
            chosen_params += [folded, folded]
        else:
            chosen.append("0")
    # Irregular revenue (political campaigns, one-off events) is in every report unless left out:
    # the class filter applies to every revenue report, not only the customer ones.
    if classes and filters.revenue_class:
        chosen.append("c.revenue_class = ?")
        chosen_params.append(filters.revenue_class)
    if chosen:  # evaluated once, not joined to every summary row
        sql.append(f"{alias}.customer_id IN (SELECT c.id FROM customers c WHERE {' AND '.join(chosen)})")
        params += chosen_params
    return "".join(f" AND {s}" for s in sql), params


def _customer_table(filters: Filters) -> str:
    """The customer summary to read: the one without markets (a fifth of the rows) unless the
    report is filtered by market."""
    return "customer_month_summary" if filters.market else "customer_total_summary"


def _by_month_customer_ae(conn: sqlite3.Connection, filters: Filters, measure: str, extra_sql: str,
                          args: list):
    """(month, customer id, AE, amount) rows for months args[0]..args[1] with the filters.

    Grouped in the summary's primary-key order, so SQLite streams it without sorting: at 1.5 M
    spots a GROUP BY in any other order cost more than the rest of the report.
    """
    return conn.execute(
        f"SELECT s.broadcast_month, s.customer_id, s.ae, total(s.{measure}) FROM {_customer_table(filters)} s"
        f" WHERE s.broadcast_month BETWEEN ? AND ?{extra_sql} GROUP BY 1, 2, 3", args)


def _customer_names(conn: sqlite3.Connection, ids) -> dict[int, tuple[str, str]]:
    """id -> (name, agency chain) for a few customers."""
    return {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT id, name, agency_chain FROM customers WHERE id IN (SELECT value FROM json_each(?))",
        ("[" + ",".join(str(int(i)) for i in ids) + "]",))}


_months = codes.month_span


def _months_back(month: int, count: int) -> int:
    return codes.add_months(month, -count)


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _money(x: float | None) -> float:
    return round(x or 0.0, 2)


# What a report was made from, in words --------------------------------------------------------

def describe(report: Report) -> list[tuple[str, str]]:
    """The filters a report applied, as (label, text) pairs a person reads: the print header of a
    page, the first block of its XLSX and the name of its downloads all come from here."""
    f, o = report.filters, report.options
    out = []
    first, last = f.get("first_month"), f.get("last_month")
    if first and last:
        out.append(("Period", month_label(first) if first == last else f"{month_label(first)} to {month_label(last)}"))
    elif f.get("year"):
        out.append(("Year", str(f["year"])))
    if f.get("measure"):
        out.append(("Measure", f["measure"].title()))
    names = {"market": {m["code"]: f"{m['name']} ({m['code']})" for m in o.get("markets", [])},
             "sector": {s["code"]: s["name"] for s in o.get("sectors", [])} | {"NONE": UNASSIGNED},
             "status": dict(o.get("status_words", {}))}
    if report.name in CLASS_PAGES:
        out.append(("Revenue class", CLASS_WORDS.get(f.get("revenue_class"), "Regular and irregular")))
    for key, label in (("ae", "AE"), ("revenue_type", "Revenue type"), ("market", "Market"),
                       ("sector", "Sector"), ("q", "Search"), ("status", "Status")):
        if f.get(key):
            out.append((label, names.get(key, {}).get(f[key], str(f[key]))))
    return out
