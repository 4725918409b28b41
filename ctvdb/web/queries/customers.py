"""Reports about customers: the sector analysis and one customer's detail page."""

from __future__ import annotations

import sqlite3
from datetime import date

from ctvdb.web.params import Filters, month_label
from ctvdb.web.queries.base import (
    UNASSIGNED, Column, Table, Report, _options, _year, _where, _by_month_customer_ae, _months,
    _months_back, _pct, _money,
)


# Sector analysis --------------------------------------------------------------------------------

def sector_analysis(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    options = _options(conn)
    year = _year(filters, options, today.year)
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
                    today: date) -> Report | None:
    customer = conn.execute(
        "SELECT c.id, c.name, c.agency_chain, c.identity_key, c.sector_code, sec.name AS sector"
        " FROM customers c LEFT JOIN sectors sec ON sec.code = c.sector_code WHERE c.id = ?",
        (customer_id,)).fetchone()
    if customer is None:
        return None
    options = _options(conn)
    year = _year(filters, options, today.year)
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
