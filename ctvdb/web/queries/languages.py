"""Language reports: revenue by language group and market, and the language review queue."""

from __future__ import annotations

import sqlite3
from datetime import date

from ctvdb.web.params import Filters
from ctvdb.web.queries.base import (
    IAS, Column, Table, Report, _options, _year, _where, _pct, _money,
)


# Language / market analysis ---------------------------------------------------------------------

def market_analysis(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    """Revenue by language (DOMAIN §4): Internal Ad Sales, COM and BNS, a language code present.

    Bonus spots are booked at no charge, so their gross is always 0: what they gave away is
    their spot value (column 17), which the language summary keeps."""
    options = _options(conn)
    year = _year(filters, options, today.year)
    # The language summary has no customer: the revenue class is no filter of this page.
    extra_sql, params = _where(filters, revenue_type=False, classes=False)
    cells = conn.execute(
        "SELECT coalesce(l.language_group, 'Other') AS grp, s.language_code, s.market_code, s.spot_type,"
        " sum(s.spots) AS spots, total(s.gross) AS gross, total(s.spot_value) AS spot_value"
        " FROM language_month_summary s LEFT JOIN languages l ON l.code = s.language_code"
        f" WHERE s.broadcast_month BETWEEN ? AND ? AND s.revenue_type = '{IAS}'"
        f" AND s.spot_type IN ('COM', 'BNS') AND s.language_code <> ''{extra_sql}"
        " GROUP BY 1, 2, 3, 4", [year * 100 + 1, year * 100 + 12] + params).fetchall()
    market_names = {m["code"]: f"{m['name']} ({m['code']})" for m in options["markets"]}
    market_names[""] = "(no market)"
    groups: dict[str, dict] = {}
    codes: dict[str, dict[str, int]] = {}
    matrix: dict[str, dict[str, float]] = {}
    markets = sorted({r["market_code"] for r in cells}, key=lambda m: (m == "", market_names.get(m, m)))
    for r in cells:
        g = groups.setdefault(r["grp"], {"group": r["grp"], "spots": 0, "paid_spots": 0,
                                         "bonus_spots": 0, "gross": 0.0, "bonus_value": 0.0})
        bonus = r["spot_type"] == "BNS"
        g["spots"] += r["spots"]
        g["bonus_spots" if bonus else "paid_spots"] += r["spots"]
        g["gross"] += r["gross"]
        if bonus:
            g["bonus_value"] += r["spot_value"]
        by_code = codes.setdefault(r["grp"], {})
        by_code[r["language_code"]] = by_code.get(r["language_code"], 0) + r["spots"]
        cell = matrix.setdefault(r["grp"], {})
        cell[r["market_code"]] = cell.get(r["market_code"], 0.0) + r["gross"]
    total = sum(g["gross"] for g in groups.values())
    group_rows = sorted(groups.values(), key=lambda g: (-g["gross"], g["group"]))
    for g in group_rows:
        g["codes"] = ", ".join(f"{code} {spots:,}" for code, spots in
                               sorted(codes[g["group"]].items(), key=lambda c: (-c[1], c[0])))
        g["gross"], g["bonus_value"] = _money(g["gross"]), _money(g["bonus_value"])
        g["share"] = _pct(g["gross"], total)
        g["bonus_share"] = _pct(g["bonus_spots"], g["spots"])
    # A market's column key is its code ('' for spots without one), its heading the name.
    keys = {m: f"m_{m}" for m in markets}
    market_rows = [{"group": g["group"], **{keys[m]: _money(matrix[g["group"]].get(m, 0.0)) for m in markets},
                    "total": g["gross"]} for g in group_rows]
    sums = {k: sum(g[k] for g in group_rows) for k in ("spots", "paid_spots", "bonus_spots", "gross", "bonus_value")}
    totals = {"group": "Total", **{k: _money(v) if k in ("gross", "bonus_value") else v for k, v in sums.items()},
              "share": 100.0 if total else None, "bonus_share": _pct(sums["bonus_spots"], sums["spots"])}
    return Report(
        name="market_analysis",
        filters={**{k: v for k, v in filters.as_dict().items() if k != "revenue_class"}, "year": year},
        options=options,
        extra={"total": _money(total), "bonus_spots": sums["bonus_spots"], "bonus_value": _money(sums["bonus_value"]),
               "chart": [(g["group"], g["gross"]) for g in group_rows]},
        tables=[
            Table("language_groups", "Revenue by language group (paid vs bonus)",
                  [Column("group", "Language group"), Column("codes", "Codes (spots)", minor=True),
                   Column("spots", "Spots", "int"), Column("paid_spots", "Paid spots", "int", minor=True),
                   Column("bonus_spots", "Bonus spots", "int"),
                   Column("bonus_share", "Bonus % of spots", "pct", minor=True), Column("gross", "Gross", "money"),
                   Column("bonus_value", "Bonus spot value", "money"), Column("share", "Share %", "pct")],
                  group_rows, totals),
            Table("language_market", "Gross by language group × market",
                  [Column("group", "Language group")]
                  + [Column(keys[m], market_names.get(m, m), "money") for m in markets]
                  + [Column("total", "Total", "money")],
                  market_rows,
                  {"group": "Total", **{keys[m]: _money(sum(r[keys[m]] for r in market_rows)) for m in markets},
                   "total": _money(total)}),
        ],
    )


# Language review queue --------------------------------------------------------------------------

# DOMAIN §4's outcomes of the language step, in words for the people who fix them.
STATUS_WORDS = {
    "undetermined": "Language not yet known",
    "invalid": "Unknown language code",
    "default": "English by default",
    "assigned": "Language from its code",
}
CATEGORY_WORDS = {
    "language_assignment": "Needs a language",
    "review_category": "Needs its spot type checked",
    "default_english": "English by its revenue type",
}


def language_review(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    status_sql = " AND sl.status = ?" if filters.status else ""
    status_args = [filters.status] if filters.status else []
    counts = [dict(r) for r in conn.execute(
        "SELECT status, category, sum(spots) AS spots, sum(high_value) AS high_value"
        " FROM review_month_summary GROUP BY 1, 2 ORDER BY spots DESC, status, category")]
    spots = [dict(r) for r in conn.execute(
        "SELECT s.id AS spot_id, s.customer_id, c.name AS customer, s.broadcast_month AS month,"
        " s.air_date, s.spot_type, s.revenue_type, s.language_code, sl.status, sl.category,"
        " s.ae, s.gross_rate, CASE WHEN sl.high_value THEN 'HIGH' ELSE '' END AS high_value"
        " FROM spot_languages sl INDEXED BY spot_languages_review_queue JOIN spots s ON s.id = sl.spot_id"
        " JOIN customers c ON c.id = s.customer_id"
        f" WHERE sl.needs_review = 1{status_sql}"
        " ORDER BY sl.high_value DESC, sl.spot_id DESC LIMIT ?", status_args + [filters.limit])]
    for r in counts + spots:
        r["status_code"], r["status"] = r["status"], STATUS_WORDS.get(r["status"], r["status"])
        r["category"] = CATEGORY_WORDS.get(r["category"], r["category"])
    return Report(
        name="language_review",
        filters={k: v for k, v in filters.as_dict().items() if k != "measure"},
        options={"status_words": STATUS_WORDS},
        extra={"total": sum(c["spots"] for c in counts),
               "high_value": sum(c["high_value"] or 0 for c in counts),
               "statuses": sorted({(c["status_code"], c["status"]) for c in counts})},
        tables=[
            Table("counts", "Spots needing review",
                  [Column("status", "Status"), Column("status_code", "Status code", "hidden"),
                   Column("category", "Category"), Column("spots", "Spots", "int"),
                   Column("high_value", "High value", "int")],
                  counts),
            Table("spots", "Review queue: high value first, newest first",
                  [Column("spot_id", "Spot", "id"), Column("customer", "Customer", "customer"),
                   Column("customer_id", "Customer id", "hidden"), Column("month", "Month", "month"),
                   Column("air_date", "Air date", "date", minor=True), Column("spot_type", "Type"),
                   Column("revenue_type", "Revenue type", minor=True), Column("language_code", "Code"),
                   Column("status", "Status"), Column("status_code", "Status code", "hidden"),
                   Column("category", "Category", minor=True), Column("ae", "AE", "ae", minor=True),
                   Column("gross_rate", "Gross", "money"), Column("high_value", "High value")],
                  spots),
        ],
    )
