"""Revenue reports from the customer summaries: monthly summary, customer revenue, AE
performance, management performance (booked vs budget)."""

from __future__ import annotations

import sqlite3
from datetime import date

from ctvdb.web.params import Filters, month_label
from ctvdb.web.queries.base import (
    IAS, MONTH_KEYS, UNASSIGNED, Column, Table, Report, _options, _year, _where, _customer_table,
    _by_month_customer_ae, _customer_names, _months, _pct, _money,
)


# Monthly revenue summary -------------------------------------------------------------------------

def monthly_summary(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    options = _options(conn)
    year = _year(filters, options, today.year)
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

def customer_revenue(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    options = _options(conn)
    year = _year(filters, options, today.year)
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

def ae_dashboard(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    options = _options(conn)
    year = _year(filters, options, today.year)
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


# Management performance -------------------------------------------------------------------------

def management_performance(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    options = _options(conn)
    year = _year(filters, options, today.year)
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
