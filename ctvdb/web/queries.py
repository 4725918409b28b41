"""Every SELECT the web side runs. Each report function takes a read-only connection and the
parsed `Filters` and returns a `Report`: the tables a page, a CSV, an XLSX and a JSON download
all show, so the four can never disagree.

Revenue reports read the summary tables (`ctvdb.summaries`); customer detail, imports and the
review queue read the base tables through their indexes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ctvdb.web.params import Filters, month_label

IAS = "Internal Ad Sales"
MONTH_KEYS = tuple(f"m{i:02d}" for i in range(1, 13))
UNASSIGNED = "Unassigned"


@dataclass
class Column:
    key: str
    label: str
    # text | int | money | pct | id | customer (a link by row["customer_id"]) | hidden (downloads only)
    kind: str = "text"


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

def data_version(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """Changes whenever anything a report shows can change: an import, a reference load, a close."""
    row = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM import_batches WHERE status = 'COMPLETED'),"
        "       (SELECT coalesce(max(id), 0) FROM reference_loads),"
        "       (SELECT count(*) FROM month_closures)"
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


def _where(filters: Filters, alias: str = "s", *, revenue_type: bool = True,
           customer: bool = False) -> tuple[str, list]:
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
        chosen.append("(c.name LIKE ? ESCAPE '\\' OR c.agency_chain LIKE ? ESCAPE '\\')")
        like = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        chosen_params += [like, like]
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


def _months(first: int, last: int) -> list[int]:
    months, m = [], first
    while m <= last:
        months.append(m)
        m = m + 1 if m % 100 < 12 else (m // 100 + 1) * 100 + 1
    return months


def _months_back(month: int, count: int) -> int:
    index = (month // 100) * 12 + month % 100 - 1 - count
    return (index // 12) * 100 + index % 12 + 1


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _money(x: float | None) -> float:
    return round(x or 0.0, 2)


# Monthly revenue summary -------------------------------------------------------------------------

def monthly_summary(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    options = _options(conn)
    year = _year(filters, options, today_year)
    if filters.from_month or filters.to_month:
        first = filters.from_month or (filters.to_month // 100) * 100 + 1
        last = filters.to_month or (first // 100) * 100 + 12
        if len(_months(first, last)) > 120:
            first = _months(first, last)[-120]
    elif filters.quarter:
        first, last = year * 100 + 3 * filters.quarter - 2, year * 100 + 3 * filters.quarter
    else:
        first, last = year * 100 + 1, year * 100 + 12
    extra_sql, params = _where(filters, revenue_type=False)
    # One scan in primary-key order (month, customer): months, quarters, clients and the top
    # clients are all folded from its few thousand rows, instead of a sorted scan for each.
    found: dict[int, dict] = {}
    by_customer: dict[int, list] = {}
    quarter_clients: dict[tuple[int, int], set] = {}
    for month, customer_id, spots, gross, low, high in conn.execute(
        "SELECT s.broadcast_month, s.customer_id, sum(s.positive_spots), total(s.positive_gross),"
        f" min(s.min_positive), max(s.max_positive) FROM {_customer_table(filters)} s"
        f" WHERE s.broadcast_month BETWEEN ? AND ? AND s.revenue_type = '{IAS}'"
        f" AND s.positive_spots > 0{extra_sql} GROUP BY 1, 2", [first, last] + params):
        m = found.setdefault(month, {"spots": 0, "gross": 0.0, "low": low, "high": high, "clients": 0})
        m["spots"] += spots
        m["gross"] += gross
        m["low"], m["high"] = min(m["low"], low), max(m["high"], high)
        m["clients"] += 1
        c = by_customer.setdefault(customer_id, [0, 0.0])
        c[0] += spots
        c[1] += gross
        quarter_clients.setdefault((month // 100, (month % 100 + 2) // 3), set()).add(customer_id)
    quarter_clients = {k: len(v) for k, v in quarter_clients.items()}
    total_clients = len(by_customer)
    top_ids = sorted(by_customer, key=lambda i: -by_customer[i][1])[:20]
    names = _customer_names(conn, top_ids)
    top = sorted(({"customer_id": i, "customer": names[i][0], "agency": names[i][1],
                   "spots": by_customer[i][0], "gross": by_customer[i][1]} for i in top_ids),
                 key=lambda r: (-r["gross"], r["customer"]))
    closed = {r[0] for r in conn.execute(
        "SELECT broadcast_month FROM month_closures WHERE broadcast_month BETWEEN ? AND ?",
        (first, last))}

    months, quarters = [], {}
    for m in _months(first, last):
        r = found.get(m)
        spots, gross = (r["spots"], r["gross"]) if r else (0, 0.0)
        row = {"month": month_label(m), "broadcast_month": m,
               "status": "CLOSED" if m in closed else "OPEN", "spots": spots,
               "gross": _money(gross), "average": _money(gross / spots) if spots else None,
               "minimum": r["low"] if r else None, "maximum": r["high"] if r else None,
               "clients": r["clients"] if r else 0}
        months.append(row)
        key = (m // 100, (m % 100 + 2) // 3)
        q = quarters.setdefault(key, {"quarter": f"Q{key[1]} {key[0]}", "months": [], "spots": 0,
                                      "gross": 0.0, "minimum": None, "maximum": None})
        q["months"].append(row)
        q["spots"] += spots
        q["gross"] += gross
        for k, pick in (("minimum", min), ("maximum", max)):
            if row[k] is not None:
                q[k] = row[k] if q[k] is None else pick(q[k], row[k])
    quarter_rows = []
    for key, q in quarters.items():
        full = len(q["months"]) == 3 and all(r["status"] == "CLOSED" for r in q["months"])
        quarter_rows.append({
            "quarter": q["quarter"], "status": "CLOSED" if full else "OPEN", "spots": q["spots"],
            "gross": _money(q["gross"]), "average": _money(q["gross"] / q["spots"]) if q["spots"] else None,
            "minimum": q["minimum"], "maximum": q["maximum"], "clients": quarter_clients.get(key, 0)})
    total_spots = sum(r["spots"] for r in months)
    total_gross = sum(r["gross"] for r in months)
    lows = [r["minimum"] for r in months if r["minimum"] is not None]
    highs = [r["maximum"] for r in months if r["maximum"] is not None]
    totals = {"month": "Total", "status": "", "spots": total_spots, "gross": _money(total_gross),
              "average": _money(total_gross / total_spots) if total_spots else None,
              "minimum": min(lows) if lows else None, "maximum": max(highs) if highs else None,
              "clients": total_clients}
    stat_columns = [Column("spots", "Spots", "int"), Column("gross", "Total gross", "money"),
                    Column("average", "Average", "money"), Column("minimum", "Minimum", "money"),
                    Column("maximum", "Maximum", "money"), Column("clients", "Clients", "int")]
    for r in top:
        r["gross"] = _money(r["gross"])
        r["share"] = _pct(r["gross"], total_gross)
    return Report(
        name="monthly_summary",
        filters={**filters.as_dict(), "year": year, "first_month": first, "last_month": last},
        options=options,
        extra={"total_gross": _money(total_gross), "total_spots": total_spots,
               "total_clients": total_clients,
               "chart": [(r["month"], r["gross"]) for r in months]},
        tables=[
            Table("months", "By broadcast month",
                  [Column("month", "Month"), Column("status", "Status")] + stat_columns,
                  months, totals),
            Table("quarters", "By quarter",
                  [Column("quarter", "Quarter"), Column("status", "Status")] + stat_columns,
                  quarter_rows, {**totals, "quarter": "Total"}),
            Table("top_clients", "Top 20 clients",
                  [Column("customer", "Customer", "customer"), Column("agency", "Agency"),
                   Column("customer_id", "Customer id", "hidden"), Column("spots", "Spots", "int"),
                   Column("gross", "Gross", "money"), Column("share", "Share %", "pct")],
                  top),
        ],
    )


# Customer revenue -------------------------------------------------------------------------------

def customer_revenue(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    options = _options(conn)
    year = _year(filters, options, today_year)
    measure = "net" if filters.measure == "net" else "gross"
    extra_sql, params = _where(filters, customer=True)
    customers = {r[0]: r for r in conn.execute(
        "SELECT c.id, c.name, c.agency_chain, sec.name FROM customers c"
        " LEFT JOIN sectors sec ON sec.code = c.sector_code")}
    rows: dict[tuple[int, str], dict] = {}
    for month, customer_id, ae, amount in _by_month_customer_ae(
            conn, filters, measure, extra_sql, [year * 100 + 1, year * 100 + 12] + params):
        row = rows.get((customer_id, ae))
        if row is None:
            _, name, agency, sector = customers[customer_id]
            row = rows[(customer_id, ae)] = {
                "customer_id": customer_id, "customer": name, "agency": agency, "ae": ae,
                "sector": sector or UNASSIGNED, **dict.fromkeys(MONTH_KEYS, 0.0), "total": 0.0}
        key = MONTH_KEYS[month % 100 - 1]
        row[key] = _money(row[key] + amount)
        row["total"] += amount
    earlier = {r[0] for r in conn.execute(
        "SELECT j.value FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM customer_total_summary p"
        " WHERE p.customer_id = j.value AND p.broadcast_month < ? AND p.gross > 0)",
        ("[" + ",".join(str(k[0]) for k in rows) + "]", year * 100 + 1))}
    table_rows = sorted(rows.values(), key=lambda r: (-r["total"], r["customer"], r["ae"]))
    for r in table_rows:
        r["total"] = _money(r["total"])
        r["new"] = "NEW" if r["customer_id"] not in earlier else ""
    month_keys = [f"m{i:02d}" for i in range(1, 13)]
    totals = {"customer": "Total", **{k: _money(sum(r[k] for r in table_rows)) for k in month_keys},
              "total": _money(sum(r["total"] for r in table_rows))}
    columns = [Column("customer", "Customer", "customer"), Column("customer_id", "Customer id", "hidden"),
               Column("agency", "Agency"), Column("ae", "AE"), Column("sector", "Sector"),
               Column("new", "New")]
    columns += [Column(k, f"{month_label(year * 100 + i)}", "money") for i, k in enumerate(month_keys, 1)]
    columns.append(Column("total", "Total", "money"))
    return Report(
        name="customer_revenue",
        filters={**filters.as_dict(), "year": year, "measure": measure},
        options=options,
        extra={"customers": len({r["customer_id"] for r in table_rows}),
               "new_customers": len({r["customer_id"] for r in table_rows if r["new"]}),
               "total": totals["total"]},
        tables=[Table("customers", f"Customers × months ({measure})", columns, table_rows, totals)],
    )


# AE performance --------------------------------------------------------------------------------

def ae_dashboard(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    options = _options(conn)
    year = _year(filters, options, today_year)
    measure = "net" if filters.measure == "net" else "gross"
    extra_sql, params = _where(filters)
    args = [(year - 1) * 100 + 1, year * 100 + 12] + params
    by_month: dict[str, dict[int, float]] = {}
    customers_of: dict[tuple[str, int], set] = {}
    for month, customer_id, ae, amount in _by_month_customer_ae(conn, filters, measure, extra_sql, args):
        months = by_month.setdefault(ae, {})
        months[month] = months.get(month, 0.0) + amount
        customers_of.setdefault((ae, month // 100), set()).add(customer_id)
    served = {key: len(ids) for key, ids in customers_of.items()}
    summary, monthly, quarterly = [], [], []
    for ae in sorted(by_month):
        amounts = by_month[ae]
        this = sum(v for m, v in amounts.items() if m // 100 == year)
        last = sum(v for m, v in amounts.items() if m // 100 == year - 1)
        summary.append({"ae": ae, "this_year": _money(this), "last_year": _money(last),
                        "change": _money(this - last), "change_pct": _pct(this - last, last),
                        "customers": served.get((ae, year), 0),
                        "customers_last_year": served.get((ae, year - 1), 0)})
        monthly.append({"ae": ae, **{f"m{i:02d}": _money(amounts.get(year * 100 + i, 0.0))
                                     for i in range(1, 13)}, "total": _money(this)})
        for q in range(1, 5):
            qm = range(3 * q - 2, 3 * q + 1)
            t = sum(amounts.get(year * 100 + i, 0.0) for i in qm)
            lq = sum(amounts.get((year - 1) * 100 + i, 0.0) for i in qm)
            quarterly.append({"ae": ae, "quarter": f"Q{q}", "this_year": _money(t),
                              "last_year": _money(lq), "change_pct": _pct(t - lq, lq)})
    summary.sort(key=lambda r: -r["this_year"])
    this_total = sum(r["this_year"] for r in summary)
    last_total = sum(r["last_year"] for r in summary)
    month_keys = [f"m{i:02d}" for i in range(1, 13)]
    return Report(
        name="ae_dashboard",
        filters={**filters.as_dict(), "year": year, "measure": measure},
        options=options,
        extra={"this_year": _money(this_total), "last_year": _money(last_total)},
        tables=[
            Table("aes", f"AEs: {year} vs {year - 1} ({measure})",
                  [Column("ae", "AE"), Column("this_year", str(year), "money"),
                   Column("last_year", str(year - 1), "money"), Column("change", "Change", "money"),
                   Column("change_pct", "Change %", "pct"),
                   Column("customers", f"Customers {year}", "int"),
                   Column("customers_last_year", f"Customers {year - 1}", "int")],
                  summary,
                  {"ae": "Total", "this_year": _money(this_total), "last_year": _money(last_total),
                   "change": _money(this_total - last_total),
                   "change_pct": _pct(this_total - last_total, last_total)}),
            Table("months", f"By month, {year}",
                  [Column("ae", "AE")] + [Column(k, month_label(year * 100 + i), "money")
                                          for i, k in enumerate(month_keys, 1)]
                  + [Column("total", "Total", "money")],
                  monthly,
                  {"ae": "Total", **{k: _money(sum(r[k] for r in monthly)) for k in month_keys},
                   "total": _money(this_total)}),
            Table("quarters", f"By quarter, {year} vs {year - 1}",
                  [Column("ae", "AE"), Column("quarter", "Quarter"),
                   Column("this_year", str(year), "money"), Column("last_year", str(year - 1), "money"),
                   Column("change_pct", "Change %", "pct")],
                  quarterly),
        ],
    )


# Language / market analysis ---------------------------------------------------------------------

def market_analysis(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    """Revenue by language (DOMAIN §4): Internal Ad Sales, COM and BNS, a language code present."""
    options = _options(conn)
    year = _year(filters, options, today_year)
    extra_sql, params = _where(filters, revenue_type=False)
    cells = conn.execute(
        "SELECT coalesce(l.language_group, 'Other') AS grp, s.market_code, s.spot_type,"
        " sum(s.spots) AS spots, total(s.gross) AS gross"
        " FROM language_month_summary s LEFT JOIN languages l ON l.code = s.language_code"
        f" WHERE s.broadcast_month BETWEEN ? AND ? AND s.revenue_type = '{IAS}'"
        f" AND s.spot_type IN ('COM', 'BNS') AND s.language_code <> ''{extra_sql}"
        " GROUP BY 1, 2, 3", [year * 100 + 1, year * 100 + 12] + params).fetchall()
    groups: dict[str, dict] = {}
    matrix: dict[str, dict[str, float]] = {}
    markets = sorted({r["market_code"] or "(none)" for r in cells})
    for r in cells:
        g = groups.setdefault(r["grp"], {"group": r["grp"], "spots": 0, "paid_spots": 0,
                                         "bonus_spots": 0, "gross": 0.0, "paid_gross": 0.0,
                                         "bonus_gross": 0.0})
        kind = "bonus" if r["spot_type"] == "BNS" else "paid"
        g["spots"] += r["spots"]
        g[f"{kind}_spots"] += r["spots"]
        g["gross"] += r["gross"]
        g[f"{kind}_gross"] += r["gross"]
        cell = matrix.setdefault(r["grp"], {})
        market = r["market_code"] or "(none)"
        cell[market] = cell.get(market, 0.0) + r["gross"]
    total = sum(g["gross"] for g in groups.values())
    group_rows = sorted(groups.values(), key=lambda g: (-g["gross"], g["group"]))
    for g in group_rows:
        for k in ("gross", "paid_gross", "bonus_gross"):
            g[k] = _money(g[k])
        g["share"] = _pct(g["gross"], total)
        g["bonus_share"] = _pct(g["bonus_spots"], g["spots"])
    market_rows = [{"group": g["group"], **{m: _money(matrix[g["group"]].get(m, 0.0)) for m in markets},
                    "total": g["gross"]} for g in group_rows]
    sums = {k: sum(g[k] for g in group_rows) for k in
            ("spots", "paid_spots", "bonus_spots", "gross", "paid_gross", "bonus_gross")}
    totals = {"group": "Total", **{k: _money(v) if "gross" in k else v for k, v in sums.items()},
              "share": 100.0 if total else None, "bonus_share": _pct(sums["bonus_spots"], sums["spots"])}
    return Report(
        name="market_analysis",
        filters={**filters.as_dict(), "year": year},
        options=options,
        extra={"total": _money(total), "chart": [(g["group"], g["gross"]) for g in group_rows]},
        tables=[
            Table("language_groups", "Revenue by language group (paid vs bonus)",
                  [Column("group", "Language group"), Column("spots", "Spots", "int"),
                   Column("paid_spots", "Paid spots", "int"), Column("bonus_spots", "Bonus spots", "int"),
                   Column("bonus_share", "Bonus % of spots", "pct"), Column("gross", "Gross", "money"),
                   Column("paid_gross", "Paid gross", "money"), Column("bonus_gross", "Bonus gross", "money"),
                   Column("share", "Share %", "pct")],
                  group_rows, totals),
            Table("language_market", "Gross by language group × market",
                  [Column("group", "Language group")] + [Column(m, m, "money") for m in markets]
                  + [Column("total", "Total", "money")],
                  market_rows,
                  {"group": "Total", **{m: _money(sum(r[m] for r in market_rows)) for m in markets},
                   "total": _money(total)}),
        ],
    )


# Sector analysis --------------------------------------------------------------------------------

def sector_analysis(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    options = _options(conn)
    year = _year(filters, options, today_year)
    measure = "net" if filters.measure == "net" else "gross"
    extra_sql, params = _where(filters)
    amounts: dict[int, float] = {}
    for _, customer_id, _, amount in _by_month_customer_ae(
            conn, filters, measure, extra_sql, [year * 100 + 1, year * 100 + 12] + params):
        amounts[customer_id] = amounts.get(customer_id, 0.0) + amount
    customers = sorted(
        ({"customer_id": r[0], "customer": r[1], "agency": r[2], "sector": r[3] or UNASSIGNED,
          "amount": amounts[r[0]]} for r in conn.execute(
            "SELECT c.id, c.name, c.agency_chain, sec.name FROM customers c"
            " LEFT JOIN sectors sec ON sec.code = c.sector_code") if r[0] in amounts),
        key=lambda r: (-r["amount"], r["customer"]))
    sectors: dict[str, dict] = {}
    top_rows = []
    for r in customers:
        s = sectors.setdefault(r["sector"], {"sector": r["sector"], "customers": 0, "amount": 0.0,
                                             "top": []})
        s["customers"] += 1
        s["amount"] += r["amount"]
        if len(s["top"]) < 5:
            s["top"].append(r)
    total = sum(s["amount"] for s in sectors.values())
    sector_rows = sorted(sectors.values(), key=lambda s: (-s["amount"], s["sector"]))
    for s in sector_rows:
        for rank, r in enumerate(s["top"], 1):
            top_rows.append({"sector": s["sector"], "rank": rank, "customer": r["customer"],
                             "customer_id": r["customer_id"], "agency": r["agency"],
                             "amount": _money(r["amount"]), "sector_share": _pct(r["amount"], s["amount"])})
    rows = [{"sector": s["sector"], "customers": s["customers"], "amount": _money(s["amount"]),
             "share": _pct(s["amount"], total)} for s in sector_rows]
    return Report(
        name="sector_analysis",
        filters={**filters.as_dict(), "year": year, "measure": measure},
        options=options,
        extra={"total": _money(total), "chart": [(r["sector"], r["amount"]) for r in rows]},
        tables=[
            Table("sectors", f"Revenue by sector ({measure})",
                  [Column("sector", "Sector"), Column("customers", "Customers", "int"),
                   Column("amount", measure.title(), "money"), Column("share", "Share %", "pct")],
                  rows,
                  {"sector": "Total", "customers": sum(r["customers"] for r in rows),
                   "amount": _money(total), "share": 100.0 if total else None}),
            Table("top_customers", "Top customers per sector",
                  [Column("sector", "Sector"), Column("rank", "#", "int"),
                   Column("customer", "Customer", "customer"), Column("customer_id", "Customer id", "hidden"),
                   Column("agency", "Agency"), Column("amount", measure.title(), "money"),
                   Column("sector_share", "% of sector", "pct")],
                  top_rows),
        ],
    )


# Customer detail --------------------------------------------------------------------------------

def customer_detail(conn: sqlite3.Connection, customer_id: int, filters: Filters,
                    today_year: int) -> Report | None:
    customer = conn.execute(
        "SELECT c.id, c.name, c.agency_chain, c.identity_key, c.sector_code, sec.name AS sector"
        " FROM customers c LEFT JOIN sectors sec ON sec.code = c.sector_code WHERE c.id = ?",
        (customer_id,)).fetchone()
    if customer is None:
        return None
    options = _options(conn)
    year = _year(filters, options, today_year)
    measure = "net" if filters.measure == "net" else "gross"
    overall = conn.execute(
        "SELECT sum(spots) AS spots, total(gross) AS gross, total(net) AS net,"
        " min(broadcast_month) AS first, max(broadcast_month) AS last"
        " FROM customer_total_summary WHERE customer_id = ?", (customer_id,)).fetchone()
    per_month = {r[0]: r for r in conn.execute(
        "SELECT broadcast_month, sum(spots), total(gross), total(net) FROM customer_total_summary"
        " WHERE customer_id = ? AND broadcast_month BETWEEN ? AND ? GROUP BY broadcast_month",
        (customer_id, (year - 1) * 100 + 1, year * 100 + 12))}
    trend = []
    for m in _months((year - 1) * 100 + 1, year * 100 + 12):
        r = per_month.get(m)
        trend.append({"month": month_label(m), "spots": r[1] if r else 0,
                      "gross": _money(r[2] if r else 0), "net": _money(r[3] if r else 0)})
    this = [t for t in trend[12:]]
    last = [t for t in trend[:12]]
    year_rows = [{"year": str(y), "spots": sum(t["spots"] for t in ts),
                  "gross": _money(sum(t["gross"] for t in ts)), "net": _money(sum(t["net"] for t in ts))}
                 for y, ts in ((year, this), (year - 1, last))]
    span = (year * 100 + 1, year * 100 + 12)

    def breakdown(sql: str) -> list[dict]:
        rows = [dict(r) for r in conn.execute(sql, (customer_id, *span))]
        whole = sum(r["amount"] for r in rows)
        for r in rows:
            r["amount"] = _money(r["amount"])
            r["share"] = _pct(r["amount"], whole)
        return rows

    languages = breakdown(
        "SELECT coalesce(nullif(s.language_code, ''), '(none)') AS language,"
        f" coalesce(l.language_group, 'Other') AS grp, sum(s.spots) AS spots, total(s.{measure}) AS amount"
        " FROM customer_code_summary s LEFT JOIN languages l ON l.code = s.language_code"
        " WHERE s.customer_id = ? AND s.broadcast_month BETWEEN ? AND ?"
        " GROUP BY 1, 2 ORDER BY amount DESC, language")
    aes = breakdown(
        f"SELECT ae, sum(spots) AS spots, total({measure}) AS amount FROM customer_total_summary"
        " WHERE customer_id = ? AND broadcast_month BETWEEN ? AND ? GROUP BY ae ORDER BY amount DESC, ae")
    markets = breakdown(
        "SELECT coalesce(nullif(market_code, ''), '(none)') AS market, sum(spots) AS spots,"
        f" total({measure}) AS amount FROM customer_month_summary"
        " WHERE customer_id = ? AND broadcast_month BETWEEN ? AND ? GROUP BY 1 ORDER BY amount DESC, market")
    # The latest air dates lie in the customer's last broadcast months (a spot airing late in a
    # month can belong to the next): sorting three months is enough, not the customer's every spot.
    # A small customer may have fewer in those months: then read all of its (few) spots.
    for since in ([_months_back(overall["last"], 2)] if overall["last"] else []) + [0]:
        recent = [dict(r) for r in conn.execute(
            "SELECT s.air_date, s.month_label AS month, s.spot_type, s.language_code, s.market_code,"
            " s.ae, s.revenue_type, s.length_seconds, s.gross_rate, s.station_net"
            " FROM spots s WHERE s.customer_id = ? AND s.broadcast_month >= ?"
            " ORDER BY s.air_date DESC, s.id DESC LIMIT 25", (customer_id, since))]
        if len(recent) == 25:
            break
    bill_codes = [dict(r) for r in conn.execute(
        "SELECT bill_code, sum(spots) AS spots, min(broadcast_month) AS first, max(broadcast_month) AS last"
        " FROM customer_code_summary WHERE customer_id = ? GROUP BY bill_code ORDER BY spots DESC, bill_code",
        (customer_id,))]
    for b in bill_codes:
        b["first"], b["last"] = month_label(b["first"]), month_label(b["last"])
    share_cols = [Column("spots", "Spots", "int"), Column("amount", measure.title(), "money"),
                  Column("share", "Share %", "pct")]
    return Report(
        name="customer_detail",
        filters={**filters.as_dict(), "year": year, "measure": measure},
        options=options,
        extra={"customer": dict(customer),
               "overall": {"spots": overall["spots"] or 0, "gross": _money(overall["gross"]),
                           "net": _money(overall["net"]),
                           "first": month_label(overall["first"]) if overall["first"] else None,
                           "last": month_label(overall["last"]) if overall["last"] else None},
               "this_year": year_rows[0], "last_year": year_rows[1],
               "chart": [(t["month"], t[measure]) for t in trend]},
        tables=[
            Table("years", f"{year} vs {year - 1}",
                  [Column("year", "Year"), Column("spots", "Spots", "int"),
                   Column("gross", "Gross", "money"), Column("net", "Net", "money")], year_rows),
            Table("trend", "24-month trend",
                  [Column("month", "Month"), Column("spots", "Spots", "int"),
                   Column("gross", "Gross", "money"), Column("net", "Net", "money")], trend),
            Table("languages", f"By language, {year}",
                  [Column("language", "Language"), Column("grp", "Group")] + share_cols, languages),
            Table("aes", f"By AE, {year}", [Column("ae", "AE")] + share_cols, aes),
            Table("markets", f"By market, {year}", [Column("market", "Market")] + share_cols, markets),
            Table("recent_spots", "Most recent spots",
                  [Column("air_date", "Air date"), Column("month", "Month"), Column("spot_type", "Type"),
                   Column("language_code", "Language"), Column("market_code", "Market"),
                   Column("ae", "AE"), Column("revenue_type", "Revenue type"),
                   Column("length_seconds", "Length (s)", "int"), Column("gross_rate", "Gross", "money"),
                   Column("station_net", "Net", "money")], recent),
            Table("bill_codes", "Bill codes that map to this customer",
                  [Column("bill_code", "Bill code"), Column("spots", "Spots", "int"),
                   Column("first", "First month"), Column("last", "Last month")], bill_codes),
        ],
    )


# Management performance -------------------------------------------------------------------------

def management_performance(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    options = _options(conn)
    year = _year(filters, options, today_year)
    extra_sql, params = _where(filters)
    booked: dict[str, dict[int, float]] = {}
    for month, _, ae, amount in _by_month_customer_ae(
            conn, filters, "gross", extra_sql, [(year - 1) * 100 + 1, year * 100 + 12] + params):
        months = booked.setdefault(ae, {})
        months[month] = months.get(month, 0.0) + amount
    budget: dict[str, dict[int, float]] = {}
    for r in conn.execute(
        "SELECT ae, broadcast_month, amount FROM budgets WHERE broadcast_month BETWEEN ? AND ?"
        + (" AND ae = ?" if filters.ae else ""),
        [year * 100 + 1, year * 100 + 12] + ([filters.ae] if filters.ae else [])):
        budget.setdefault(r[0], {})[r[1]] = r[2]
    rows, ae_rows = [], []
    for ae in sorted(set(booked) | set(budget)):
        b, g = booked.get(ae, {}), budget.get(ae, {})
        for q in [1, 2, 3, 4, None]:
            months = range(3 * q - 2, 3 * q + 1) if q else range(1, 13)
            this = sum(b.get(year * 100 + m, 0.0) for m in months)
            last = sum(b.get((year - 1) * 100 + m, 0.0) for m in months)
            goal = sum(g.get(year * 100 + m, 0.0) for m in months)
            row = {"ae": ae, "quarter": f"Q{q}" if q else "Year", "booked": _money(this),
                   "budget": _money(goal), "variance": _money(this - goal),
                   "pacing": _pct(this, goal), "last_year": _money(last), "yoy": _pct(this - last, last)}
            (rows if q else ae_rows).append(row)
    ae_rows.sort(key=lambda r: -r["booked"])
    sums = {k: sum(r[k] for r in ae_rows) for k in ("booked", "budget", "last_year")}
    columns = [Column("ae", "AE"), Column("quarter", "Period"), Column("booked", "Booked", "money"),
               Column("budget", "Budget", "money"), Column("variance", "Booked − budget", "money"),
               Column("pacing", "% of budget", "pct"), Column("last_year", f"Booked {year - 1}", "money"),
               Column("yoy", "YoY %", "pct")]
    return Report(
        name="management_performance",
        filters={**filters.as_dict(), "year": year},
        options=options,
        extra={"has_budgets": bool(budget), **{k: _money(v) for k, v in sums.items()}},
        tables=[
            Table("aes", f"Booked vs budget, {year}", columns, ae_rows,
                  {"ae": "Total", "quarter": "Year", "booked": _money(sums["booked"]),
                   "budget": _money(sums["budget"]), "variance": _money(sums["booked"] - sums["budget"]),
                   "pacing": _pct(sums["booked"], sums["budget"]), "last_year": _money(sums["last_year"]),
                   "yoy": _pct(sums["booked"] - sums["last_year"], sums["last_year"])}),
            Table("quarters", f"By AE and quarter, {year}", columns, rows),
        ],
    )


# Import history ---------------------------------------------------------------------------------

def imports(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    status = filters.status.upper() if filters.status else None
    batches = [dict(r) for r in conn.execute(
        "SELECT id, mode, source_file, status, started_at, finished_at, rows_read, rows_imported,"
        " rows_deleted, rows_ignored, rows_trade, rows_rejected, months_replaced, months_protected,"
        " closed_by, error_summary FROM import_batches"
        + (" WHERE status = ?" if status else "") + " ORDER BY id DESC LIMIT ?",
        ([status] if status else []) + [filters.limit])]
    reasons = [dict(r) for r in conn.execute(
        "SELECT batch_id, column_name, reason, count(*) AS rows, min(row_number) AS first_row"
        " FROM rejected_rows WHERE batch_id IN (SELECT value FROM json_each(?))"
        " GROUP BY batch_id, column_name, reason ORDER BY batch_id DESC, rows DESC",
        ("[" + ",".join(str(b["id"]) for b in batches) + "]",))]
    for b in batches:
        b["months_replaced"] = ", ".join(month_label(int(m)) for m in b["months_replaced"].split(",") if m)
        b["months_protected"] = ", ".join(
            f"{month_label(int(m.split(':')[0]))} ({m.split(':', 1)[1]})" if ":" in m else m
            for m in b["months_protected"].split(",") if m)
    tables = [
        Table("batches", "Import batches",
              [Column("id", "Batch", "id"), Column("mode", "Mode"), Column("status", "Status"),
               Column("source_file", "Source file"), Column("started_at", "Started"),
               Column("finished_at", "Finished"), Column("rows_read", "Read", "int"),
               Column("rows_imported", "Imported", "int"), Column("rows_deleted", "Deleted", "int"),
               Column("rows_ignored", "Ignored", "int"), Column("rows_trade", "Trade", "int"),
               Column("rows_rejected", "Rejected", "int"), Column("months_replaced", "Months replaced"),
               Column("months_protected", "Months protected"), Column("closed_by", "Closed by"),
               Column("error_summary", "Error")],
              batches),
        Table("rejections", "Rejected rows by reason",
              [Column("batch_id", "Batch", "id"), Column("column_name", "Column"),
               Column("reason", "Reason"), Column("rows", "Rows", "int"),
               Column("first_row", "First row", "int")], reasons),
    ]
    if filters.batch:
        tables.append(Table(
            "rejected_rows", f"Rejected rows of batch {filters.batch}",
            [Column("sheet", "Sheet"), Column("row_number", "Row", "int"),
             Column("column_name", "Column"), Column("value", "Value"), Column("reason", "Reason")],
            [dict(r) for r in conn.execute(
                "SELECT sheet, row_number, column_name, value, reason FROM rejected_rows"
                " WHERE batch_id = ? ORDER BY sheet, row_number LIMIT ?", (filters.batch, filters.limit))]))
    return Report(name="imports", filters=filters.as_dict(), tables=tables,
                  extra={"statuses": ["COMPLETED", "FAILED", "RUNNING"]})


# Language review queue --------------------------------------------------------------------------

def language_review(conn: sqlite3.Connection, filters: Filters, today_year: int) -> Report:
    status_sql = " AND sl.status = ?" if filters.status else ""
    status_args = [filters.status] if filters.status else []
    counts = [dict(r) for r in conn.execute(
        "SELECT status, category, sum(spots) AS spots, sum(high_value) AS high_value"
        " FROM review_month_summary GROUP BY 1, 2 ORDER BY spots DESC, status, category")]
    spots = [dict(r) for r in conn.execute(
        "SELECT s.id AS spot_id, s.customer_id, c.name AS customer, s.month_label AS month,"
        " s.air_date, s.spot_type, s.revenue_type, s.language_code, sl.status, sl.category,"
        " s.ae, s.gross_rate, CASE WHEN sl.high_value THEN 'HIGH' ELSE '' END AS high_value"
        " FROM spot_languages sl INDEXED BY spot_languages_review_queue JOIN spots s ON s.id = sl.spot_id"
        " JOIN customers c ON c.id = s.customer_id"
        f" WHERE sl.needs_review = 1{status_sql}"
        " ORDER BY sl.high_value DESC, sl.spot_id DESC LIMIT ?", status_args + [filters.limit])]
    return Report(
        name="language_review",
        filters=filters.as_dict(),
        extra={"total": sum(c["spots"] for c in counts),
               "high_value": sum(c["high_value"] or 0 for c in counts),
               "statuses": sorted({c["status"] for c in counts})},
        tables=[
            Table("counts", "Spots needing review",
                  [Column("status", "Status"), Column("category", "Category"),
                   Column("spots", "Spots", "int"), Column("high_value", "High value", "int")],
                  counts),
            Table("spots", "Review queue: high value first, newest first",
                  [Column("spot_id", "Spot", "id"), Column("customer", "Customer", "customer"),
                   Column("customer_id", "Customer id", "hidden"), Column("month", "Month"),
                   Column("air_date", "Air date"), Column("spot_type", "Type"),
                   Column("revenue_type", "Revenue type"), Column("language_code", "Code"),
                   Column("status", "Status"), Column("category", "Category"), Column("ae", "AE"),
                   Column("gross_rate", "Gross", "money"), Column("high_value", "High value")],
                  spots),
        ],
    )


# Lookups for the reference loads and the demo ---------------------------------------------------

def customer_keys(conn: sqlite3.Connection) -> dict[str, int]:
    """identity key (lower-cased normalised bill code) -> customer id."""
    return {r[0]: r[1] for r in conn.execute("SELECT identity_key, id FROM customers")}


def sector_lookup(conn: sqlite3.Connection) -> dict[str, str]:
    """Lower-cased sector code and name -> sector code."""
    found = {}
    for code, name in conn.execute("SELECT code, name FROM sectors"):
        found[code.lower()] = found[name.lower()] = code
    return found


def customer_bill_codes(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """(id, bill code as the workbook writes it) for every customer."""
    return [(r[0], f"{r[1]}:{r[2]}" if r[1] else r[2])
            for r in conn.execute("SELECT id, agency_chain, name FROM customers ORDER BY id")]


def ae_month_totals(conn: sqlite3.Connection, first: int, last: int) -> list[tuple[str, int, float]]:
    """(AE, broadcast month, gross) over every revenue type, for months first..last."""
    return [tuple(r) for r in conn.execute(
        "SELECT ae, broadcast_month, total(gross) FROM customer_total_summary"
        " WHERE broadcast_month BETWEEN ? AND ? GROUP BY 1, 2", (first, last))]
