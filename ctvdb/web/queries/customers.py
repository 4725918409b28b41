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
          "sector_code": r[4] or "NONE", "amount": amounts[r[0]]} for r in conn.execute(
            "SELECT c.id, c.name, c.agency_chain, sec.name, sec.code FROM customers c"
            " LEFT JOIN sectors sec ON sec.code = c.sector_code") if r[0] in amounts),
        key=lambda r: (-r["amount"], r["customer"]))
    sectors: dict[str, dict] = {}
    top_rows = []
    for r in customers:
        s = sectors.setdefault(r["sector"], {"sector": r["sector"], "sector_code": r["sector_code"],
                                             "customers": 0, "amount": 0.0, "top": []})
        s["customers"] += 1
        s["amount"] += r["amount"]
        if len(s["top"]) < 5:
            s["top"].append(r)
    total = sum(s["amount"] for s in sectors.values())
    sector_rows = sorted(sectors.values(), key=lambda s: (-s["amount"], s["sector"]))
    for s in sector_rows:
        for rank, r in enumerate(s["top"], 1):
            top_rows.append({"sector": s["sector"], "sector_code": s["sector_code"], "rank": rank,
                             "customer": r["customer"],
                             "customer_id": r["customer_id"], "agency": r["agency"],
                             "amount": _money(r["amount"]), "sector_share": _pct(r["amount"], s["amount"])})
    rows = [{"sector": s["sector"], "sector_code": s["sector_code"], "customers": s["customers"],
             "amount": _money(s["amount"]), "share": _pct(s["amount"], total)} for s in sector_rows]
    return Report(
        name="sector_analysis",
        filters={**filters.as_dict(), "year": year, "measure": measure},
        options=options,
        extra={"total": _money(total), "customers": len(customers),
               "chart": [(r["sector"], r["amount"]) for r in rows]},
        tables=[
            Table("sectors", f"Revenue by sector ({measure})",
                  [Column("sector", "Sector", "sector"), Column("sector_code", "Sector code", "hidden"),
                   Column("customers", "Customers", "int"),
                   Column("amount", measure.title(), "money"), Column("share", "Share %", "pct")],
                  rows,
                  {"sector": "Total", "customers": sum(r["customers"] for r in rows),
                   "amount": _money(total), "share": 100.0 if total else None}),
            Table("top_customers", "Top customers per sector",
                  [Column("sector", "Sector", "sector"), Column("sector_code", "Sector code", "hidden"),
                   Column("rank", "#", "int"),
                   Column("customer", "Customer", "customer"), Column("customer_id", "Customer id", "hidden"),
                   Column("agency", "Agency"), Column("amount", measure.title(), "money"),
                   Column("sector_share", "% of sector", "pct")],
                  top_rows),
        ],
    )


# Customer detail --------------------------------------------------------------------------------

def customer_detail(conn: sqlite3.Connection, customer_id: int, filters: Filters,
                    today: date) -> Report | None:
    """One customer: totals, this year against last, 24 months, its languages, AEs, markets,
    latest spots and bill codes. With `filters.ae` every figure is that AE's spots only, and
    extra["booked"] says whether the AE has any (an ae user may open only such a customer)."""
    customer = conn.execute(
        "SELECT c.id, c.name, c.agency_chain, c.identity_key, c.sector_code, sec.name AS sector,"
        " c.merged_into, m.name AS merged_into_name, c.active, c.revenue_class"
        " FROM customers c LEFT JOIN sectors sec ON sec.code = c.sector_code"
        " LEFT JOIN customers m ON m.id = c.merged_into WHERE c.id = ?",
        (customer_id,)).fetchone()
    if customer is None:
        return None
    # Who this customer is, as people decided it: every change that touched it, newest first.
    history = [dict(r) for r in conn.execute(
        "SELECT ch.changed_at, ch.actor, ch.summary,"
        " CASE WHEN ch.undone_by IS NOT NULL THEN 'undone by change ' || ch.undone_by ELSE '' END AS undone"
        " FROM change_objects o JOIN changes ch ON ch.id = o.change_id"
        " WHERE o.object_type = 'customer' AND o.object_id = ? ORDER BY ch.id DESC LIMIT 100", (customer_id,))]
    options = _options(conn)
    year = _year(filters, options, today.year)
    measure = "net" if filters.measure == "net" else "gross"
    # With an AE, every figure below is of that AE's spots.
    ae_sql, s_ae_sql, ae_args = (" AND ae = ?", " AND s.ae = ?", [filters.ae]) if filters.ae else ("", "", [])
    # The AE choice offers the AEs who booked this customer, not everyone's.
    options["aes"] = [r[0] for r in conn.execute(
        "SELECT DISTINCT ae FROM customer_total_summary WHERE customer_id = ? ORDER BY ae", (customer_id,))]
    overall = conn.execute(
        "SELECT sum(spots) AS spots, total(gross) AS gross, total(net) AS net,"
        " min(broadcast_month) AS first, max(broadcast_month) AS last"
        f" FROM customer_total_summary WHERE customer_id = ?{ae_sql}", [customer_id] + ae_args).fetchone()
    per_month = {r[0]: r for r in conn.execute(
        "SELECT broadcast_month, sum(spots), total(gross), total(net) FROM customer_total_summary"
        f" WHERE customer_id = ? AND broadcast_month BETWEEN ? AND ?{ae_sql} GROUP BY broadcast_month",
        [customer_id, (year - 1) * 100 + 1, year * 100 + 12] + ae_args)}
    trend = []
    for m in _months((year - 1) * 100 + 1, year * 100 + 12):
        r = per_month.get(m)
        trend.append({"month": m, "spots": r[1] if r else 0,
                      "gross": _money(r[2] if r else 0), "net": _money(r[3] if r else 0)})
    year_rows = [{"year": str(y), "spots": sum(t["spots"] for t in ts),
                  "gross": _money(sum(t["gross"] for t in ts)), "net": _money(sum(t["net"] for t in ts))}
                 for y, ts in ((year, trend[12:]), (year - 1, trend[:12]))]
    this, last = year_rows
    this["change"] = _money(this[measure] - last[measure])
    this["change_pct"] = _pct(this["change"], abs(last[measure]))
    last["change"] = last["change_pct"] = None
    span = [customer_id, year * 100 + 1, year * 100 + 12] + ae_args

    def shares(rows: list[dict]) -> list[dict]:
        whole = sum(r["amount"] for r in rows)
        for r in rows:
            r["amount"] = _money(r["amount"])
            r["share"] = _pct(r["amount"], whole)
        return rows

    languages = shares(_language_groups(conn.execute(
        "SELECT coalesce(l.language_group, 'Other'), coalesce(nullif(s.language_code, ''), '(none)'),"
        f" sum(s.spots), total(s.{measure}) FROM customer_code_summary s"
        " LEFT JOIN languages l ON l.code = s.language_code"
        f" WHERE s.customer_id = ? AND s.broadcast_month BETWEEN ? AND ?{s_ae_sql}"
        " GROUP BY 1, 2", span)))
    aes = shares([dict(r) for r in conn.execute(
        f"SELECT ae, sum(spots) AS spots, total({measure}) AS amount FROM customer_total_summary"
        f" WHERE customer_id = ? AND broadcast_month BETWEEN ? AND ?{ae_sql}"
        " GROUP BY ae ORDER BY amount DESC, ae", span)])
    markets = shares([dict(r) for r in conn.execute(
        "SELECT coalesce(m.name || ' (' || s.market_code || ')', nullif(s.market_code, ''), '(none)') AS market,"
        f" s.market_code, sum(s.spots) AS spots, total(s.{measure}) AS amount FROM customer_month_summary s"
        " LEFT JOIN markets m ON m.code = s.market_code"
        f" WHERE s.customer_id = ? AND s.broadcast_month BETWEEN ? AND ?{s_ae_sql}"
        " GROUP BY s.market_code ORDER BY amount DESC, market", span)])
    # The latest 25 spots by air date: read only the last broadcast months that hold 25 of
    # them (counted in the summary), and one month more, since a spot airing late in a month
    # can belong to the next. Not the customer's every spot: 100,000 for a large account.
    since, seen = None, 0
    for month, spots in conn.execute(
            f"SELECT broadcast_month, sum(spots) FROM customer_total_summary WHERE customer_id = ?{ae_sql}"
            " GROUP BY broadcast_month ORDER BY broadcast_month DESC", [customer_id] + ae_args):
        since, seen = month, seen + spots
        if seen >= 25:
            break
    recent = [] if since is None else [dict(r) for r in conn.execute(
        "SELECT s.air_date, s.broadcast_month AS month, s.spot_type, s.language_code, s.market_code,"
        " s.ae, s.revenue_type, s.length_seconds, s.gross_rate, s.station_net"
        f" FROM spots s WHERE s.customer_id = ? AND s.broadcast_month >= ?{s_ae_sql}"
        " ORDER BY s.air_date DESC, s.id DESC LIMIT 25", [customer_id, _months_back(since, 1)] + ae_args)]
    bill_codes = [dict(r) for r in conn.execute(
        "SELECT bill_code, sum(spots) AS spots, min(broadcast_month) AS first, max(broadcast_month) AS last"
        f" FROM customer_code_summary WHERE customer_id = ?{ae_sql}"
        " GROUP BY bill_code ORDER BY spots DESC, bill_code", [customer_id] + ae_args)]
    share_cols = [Column("spots", "Spots", "int"), Column("amount", measure.title(), "money"),
                  Column("share", "Share %", "pct")]
    return Report(
        name="customer_detail",
        filters={**filters.as_dict(), "year": year, "measure": measure},
        options=options,
        extra={"customer": dict(customer), "booked": overall["last"] is not None,
               "overall": {"spots": overall["spots"] or 0, "gross": _money(overall["gross"]),
                           "net": _money(overall["net"]),
                           "first": month_label(overall["first"]) if overall["first"] else None,
                           "last": month_label(overall["last"]) if overall["last"] else None},
               "this_year": this, "last_year": last,
               "chart": [(month_label(t["month"]), t[measure]) for t in trend]},
        tables=[
            Table("years", f"{year} vs {year - 1}",
                  [Column("year", "Year"), Column("spots", "Spots", "int"),
                   Column("gross", "Gross", "money"), Column("net", "Net", "money"),
                   Column("change", f"{measure.title()} change", "change"),
                   Column("change_pct", "Change %", "change_pct")], year_rows),
            Table("trend", "24-month trend",
                  [Column("month", "Month", "month"), Column("spots", "Spots", "int"),
                   Column("gross", "Gross", "money"), Column("net", "Net", "money")], trend),
            Table("languages", f"By language, {year}",
                  [Column("language", "Language"), Column("codes", "Codes (spots)", minor=True)] + share_cols,
                  languages),
            Table("aes", f"By AE, {year}", [Column("ae", "AE", "ae")] + share_cols, aes),
            Table("markets", f"By market, {year}",
                  [Column("market", "Market"), Column("market_code", "Market code", "hidden")] + share_cols,
                  markets),
            Table("recent_spots", "Most recent spots",
                  [Column("air_date", "Air date", "date"), Column("month", "Month", "month"),
                   Column("spot_type", "Type"), Column("language_code", "Language", minor=True),
                   Column("market_code", "Market", minor=True), Column("ae", "AE", "ae", minor=True),
                   Column("revenue_type", "Revenue type", minor=True),
                   Column("length_seconds", "Length (s)", "int", minor=True),
                   Column("gross_rate", "Gross", "money"), Column("station_net", "Net", "money")], recent),
            Table("bill_codes", "Bill codes that map to this customer",
                  [Column("bill_code", "Bill code"), Column("spots", "Spots", "int"),
                   Column("first", "First month", "month"), Column("last", "Last month", "month")],
                  bill_codes),
            Table("history", "Who this customer is: the changes people made",
                  [Column("changed_at", "When", "datetime"), Column("summary", "Change"),
                   Column("actor", "By"), Column("undone", "Undone", minor=True)], history),
        ],
    )


def _language_groups(cells) -> list[dict]:
    """(group, code, spots, amount) cells -> one row per language group, largest first, whose
    `codes` says which codes it was booked under: "E 120, EN 3, ENG 1" (DOMAIN §3: one group
    has several codes, and a person wants one English row, not three)."""
    groups: dict[str, dict] = {}
    for group, code, spots, amount in cells:
        g = groups.setdefault(group, {"language": group, "spots": 0, "amount": 0.0, "by_code": []})
        g["spots"] += spots
        g["amount"] += amount
        g["by_code"].append((code, spots))
    rows = sorted(groups.values(), key=lambda g: (-g["amount"], g["language"]))
    for g in rows:
        g["codes"] = ", ".join(f"{code} {spots:,}" for code, spots in
                               sorted(g.pop("by_code"), key=lambda c: (-c[1], c[0])))
    return rows
