"""Revenue reports from the customer summaries: monthly summary, customer revenue, AE
performance, management performance (booked vs forecast vs budget)."""

from __future__ import annotations

import sqlite3
from datetime import date

from ctvdb.web.params import Filters, month_label
from ctvdb.web.queries.base import (
    IAS, MONTH_KEYS, UNASSIGNED, Column, Table, Report, _options, _year, _where, _customer_table,
    _by_month_customer_ae, _customer_names, _months, _pct, _money, current_month, period_months,
)


# Monthly revenue summary -------------------------------------------------------------------------

def monthly_summary(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    options = _options(conn)
    year = _year(filters, options, today.year)
    first, last = period_months(filters, year, today)
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
        row = {"month": m,
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
               "chart": [(month_label(r["month"]), r["gross"]) for r in months]},
        tables=[
            Table("months", "By broadcast month",
                  [Column("month", "Month", "month"), Column("status", "Status")] + stat_columns,
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
        "SELECT c.id, c.name, c.agency_chain, sec.name, c.sector_code FROM customers c"
        " LEFT JOIN sectors sec ON sec.code = c.sector_code")}
    rows: dict[tuple[int, str], dict] = {}
    for month, customer_id, ae, amount in _by_month_customer_ae(
            conn, filters, measure, extra_sql, [year * 100 + 1, year * 100 + 12] + params):
        row = rows.get((customer_id, ae))
        if row is None:
            _, name, agency, sector, sector_code = customers[customer_id]
            row = rows[(customer_id, ae)] = {
                "customer_id": customer_id, "customer": name, "agency": agency, "ae": ae,
                "sector": sector or UNASSIGNED, "sector_code": sector_code or "NONE",
                **dict.fromkeys(MONTH_KEYS, 0.0), "total": 0.0}
        key = MONTH_KEYS[month % 100 - 1]
        row[key] = _money(row[key] + amount)
        row["total"] += amount
    # New in a year = no revenue before it; only knowable when the data reaches back before it
    # (the first year of history would otherwise flag every customer).
    history = bool(options["years"]) and min(options["years"]) < year
    earlier = {r[0] for r in conn.execute(
        "SELECT j.value FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM customer_total_summary p"
        " WHERE p.customer_id = j.value AND p.broadcast_month < ? AND p.gross > 0)",
        ("[" + ",".join(str(k[0]) for k in rows) + "]", year * 100 + 1))} if history else set()
    table_rows = sorted(rows.values(), key=lambda r: (-r["total"], r["customer"], r["ae"]))
    for r in table_rows:
        r["total"] = _money(r["total"])
        r["new"] = "NEW" if history and r["customer_id"] not in earlier else ""
    totals = {"customer": "Total", **{k: _money(sum(r[k] for r in table_rows)) for k in MONTH_KEYS},
              "total": _money(sum(r["total"] for r in table_rows))}
    columns = [Column("customer", "Customer", "customer"), Column("customer_id", "Customer id", "hidden"),
               Column("total", f"Total {year}", "money"), Column("ae", "AE", "ae"),
               Column("agency", "Agency", minor=True), Column("sector", "Sector", "sector", minor=True),
               Column("sector_code", "Sector code", "hidden"), Column("new", "New", minor=True)]
    columns += [Column(k, f"{month_label(year * 100 + i)}", "money") for i, k in enumerate(MONTH_KEYS, 1)]
    return Report(
        name="customer_revenue",
        filters={**filters.as_dict(), "year": year, "measure": measure},
        options=options,
        extra={"customers": len({r["customer_id"] for r in table_rows}),
               "new_customers": len({r["customer_id"] for r in table_rows if r["new"]}) if history else None,
               "first_year": min(options["years"]) if options["years"] else None,
               "total": totals["total"]},
        tables=[Table("customers", f"Customers × months, {year} ({measure})", columns, table_rows, totals)],
    )


# Pacing: booked against forecast, budget and last year, per AE and month of a period -------------

PACE_COLUMNS = [
    Column("booked", "Booked", "money"), Column("last_year", "Same months last year", "money"),
    Column("change", "Change vs last year", "change"), Column("change_pct", "Change %", "change_pct"),
    Column("budget", "Budget", "money"), Column("variance", "Booked − budget", "change"),
    Column("pacing", "% of budget", "pace"),
    # DOMAIN.md §8: still to book = forecast − booked, for the open months that have a forecast
    Column("forecast", "Forecast", "money"), Column("still_to_book", "Still to book", "money"),
]


def _booked(conn: sqlite3.Connection, filters: Filters, measure: str, first: int, last: int,
            customers: dict | None = None) -> dict[str, dict[int, float]]:
    """{AE: {month: booked}} for months first..last; with `customers`, also {(AE, year): ids}."""
    extra_sql, params = _where(filters)
    booked: dict[str, dict[int, float]] = {}
    for month, customer_id, ae, amount in _by_month_customer_ae(
            conn, filters, measure, extra_sql, [first, last] + params):
        months = booked.setdefault(ae, {})
        months[month] = months.get(month, 0.0) + amount
        if customers is not None:
            customers.setdefault((ae, month // 100), set()).add(customer_id)
    return booked


def _budgets(conn: sqlite3.Connection, filters: Filters, first: int, last: int,
             table: str = "budgets") -> dict[str, dict[int, float]]:
    """{AE: {month: budget}} (or forecast, from table forecasts): budgets and forecasts are per AE
    and month for every revenue type, market and revenue class, so a page filtered by one of those
    has none to compare with."""
    if filters.revenue_type or filters.market or filters.revenue_class:
        return {}
    budget: dict[str, dict[int, float]] = {}
    for ae, month, amount in conn.execute(
            f"SELECT ae, broadcast_month, amount FROM {table} WHERE broadcast_month BETWEEN ? AND ?"
            + (" AND ae = ?" if filters.ae else ""), [first, last] + ([filters.ae] if filters.ae else [])):
        budget.setdefault(ae, {})[month] = amount
    return budget


def _forecasts(conn: sqlite3.Connection, filters: Filters, first: int, last: int) -> tuple[dict, frozenset]:
    """({AE: {month: forecast}}, the closed months of first..last): still to book is for open months."""
    closed = frozenset(r[0] for r in conn.execute(
        "SELECT broadcast_month FROM month_closures WHERE broadcast_month BETWEEN ? AND ?", (first, last)))
    return _budgets(conn, filters, first, last, "forecasts"), closed


def _pace(months: list[int], booked: dict[int, float], budget: dict[int, float] | None,
          forecast: dict[int, float] | None = None, closed: frozenset = frozenset()) -> dict:
    """One row's figures over `months`: booked, the same months a year earlier, the budget and the
    forecast. Where no budget is loaded for a month, that month has no budget (shown "—", never 0)
    and is left out of booked − budget and % of budget, which compare only the months that have
    one. Still to book is forecast − booked over the open months that have a forecast."""
    this = sum(booked.get(m, 0.0) for m in months)
    last = sum(booked.get(m - 100, 0.0) for m in months)
    budgeted = [m for m in months if budget and m in budget]
    goal = sum(budget[m] for m in budgeted) if budgeted else None
    compared = sum(booked.get(m, 0.0) for m in budgeted)
    forecasted = [m for m in months if forecast and m in forecast]
    to_book = [m for m in forecasted if m not in closed]
    return {"booked": _money(this), "last_year": _money(last), "change": _money(this - last),
            "change_pct": _pct(this - last, last),
            "budget": None if goal is None else _money(goal),
            "variance": None if goal is None else _money(compared - goal),
            "pacing": _pct(compared, goal) if goal else None,
            "forecast": _money(sum(forecast[m] for m in forecasted)) if forecasted else None,
            "still_to_book": _money(sum(forecast[m] - booked.get(m, 0.0) for m in to_book)) if to_book else None}


def _pacing(conn: sqlite3.Connection, filters: Filters, measure: str, first: int, last: int,
            with_budget: bool, customers: dict | None = None, read: dict | None = None):
    """(months, booked by AE and month for the period and a year before it, budgets by AE).
    `read`: booked_by_ae() already read over months holding these (the pages that show several
    periods of one year read it once)."""
    months = _months(first, last)
    if read is not None:
        booked = {ae: {m: v for m, v in amounts.items() if first - 100 <= m <= last} for ae, amounts in read.items()}
        return months, {ae: amounts for ae, amounts in booked.items() if amounts}, \
            _budgets(conn, filters, first, last) if with_budget else {}
    booked = _booked(conn, filters, measure, first - 100, first - 1, customers)
    for ae, amounts in _booked(conn, filters, measure, first, last, customers).items():
        booked.setdefault(ae, {}).update(amounts)
    budgets = _budgets(conn, filters, first, last) if with_budget else {}
    return months, booked, budgets


def _company(months: list[int], booked: dict, budgets: dict, aes: list[str]) -> tuple[dict, dict]:
    """The company's booked and budget (or forecast) per month: every AE's summed."""
    total: dict[int, float] = {}
    goal: dict[int, float] = {}
    for ae in aes:
        for m, v in booked.get(ae, {}).items():
            total[m] = total.get(m, 0.0) + v
        for m, v in budgets.get(ae, {}).items():
            goal[m] = goal.get(m, 0.0) + v
    return total, goal


def _pace_tables(months: list[int], booked: dict, budgets: dict, columns: list[Column],
                 year: int, forecasts: dict | None = None,
                 closed: frozenset = frozenset()) -> tuple[list[dict], dict, list[dict], list[dict]]:
    """(per-AE rows, company totals, company per month, per AE and month)."""
    forecasts = forecasts or {}
    aes = sorted(set(booked) | set(budgets) | set(forecasts))
    ae_rows = [{"ae": ae, **_pace(months, booked.get(ae, {}), budgets.get(ae), forecasts.get(ae), closed)}
               for ae in aes]
    ae_rows = [r for r in ae_rows
               if r["booked"] or r["last_year"] or r["budget"] is not None or r["forecast"] is not None]
    ae_rows.sort(key=lambda r: (-r["booked"], r["ae"]))
    total, goal = _company(months, booked, budgets, aes)
    _, expected = _company(months, {}, forecasts, aes)
    company = _pace(months, total, goal or None, expected, closed)
    month_rows = [{"month": m, **_pace([m], total, goal or None, expected, closed)} for m in months]
    ae_month_rows = [{"ae": r["ae"], "month": m, **_pace([m], booked.get(r["ae"], {}), budgets.get(r["ae"]),
                                                          forecasts.get(r["ae"]), closed)}
                     for r in ae_rows for m in months]
    return ae_rows, company, month_rows, ae_month_rows


def _period_words(first: int, last: int) -> str:
    return month_label(first) if first == last else f"{month_label(first)} to {month_label(last)}"


# AE performance --------------------------------------------------------------------------------

def ae_dashboard(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    options = _options(conn)
    year = _year(filters, options, today.year)
    first, last = period_months(filters, year, today)
    measure = "net" if filters.measure == "net" else "gross"
    # Budgets are gross: a net page has nothing to compare them with.
    customers: dict[tuple[str, int], set] = {}
    months, booked, budgets = _pacing(conn, filters, measure, first, last, measure == "gross", customers)
    forecasts, closed = _forecasts(conn, filters, first, last) if measure == "gross" else ({}, frozenset())
    columns = PACE_COLUMNS if measure == "gross" else PACE_COLUMNS[:4]
    ae_rows, company, month_rows, ae_month_rows = _pace_tables(months, booked, budgets, columns, year,
                                                               forecasts, closed)
    period_years = {m // 100 for m in months}
    for r in ae_rows:
        r["customers"] = len(set().union(*(customers.get((r["ae"], y), set()) for y in period_years)))
    wide = [{"ae": r["ae"], "booked": r["booked"],
             **{f"m{m}": _money(booked.get(r["ae"], {}).get(m, 0.0)) for m in months}} for r in ae_rows]
    words = _period_words(first, last)
    return Report(
        name="ae_dashboard",
        filters={**filters.as_dict(), "year": year, "measure": measure, "first_month": first, "last_month": last},
        options=options,
        extra={"company": company, "period": words, "has_budgets": bool(budgets)},
        tables=[
            Table("aes", f"AEs, {words} ({measure})",
                  [Column("ae", "AE", "ae")] + columns + [Column("customers", "Customers", "int", minor=True)],
                  ae_rows, {"ae": "Total", **company,
                            "customers": len(set().union(*(ids for (_, y), ids in customers.items()
                                                            if y in period_years)))}),
            Table("months", f"By month, {words} ({measure})",
                  [Column("ae", "AE", "ae"), Column("booked", "Total", "money")]
                  + [Column(f"m{m}", month_label(m), "money") for m in months],
                  wide, {"ae": "Total", "booked": company["booked"],
                         **{f"m{r['month']}": r["booked"] for r in month_rows}}),
            Table("ae_months", f"Each AE by month, {words} ({measure})",
                  [Column("ae", "AE", "ae"), Column("month", "Month", "month")] + columns, ae_month_rows),
        ],
    )


# Management performance -------------------------------------------------------------------------

def booked_by_ae(conn: sqlite3.Connection, filters: Filters, first: int, last: int) -> dict[str, dict[int, float]]:
    """{AE: {month: booked gross}} over the months first..last, for management_performance(read=)."""
    return _booked(conn, filters, "gross", first, last)


def management_performance(conn: sqlite3.Connection, filters: Filters, today: date,
                           read: dict | None = None) -> Report:
    """`read`: booked_by_ae() over months holding the period and the year before it, if read."""
    options = _options(conn)
    year = _year(filters, options, today.year)
    first, last = period_months(filters, year, today)
    months, booked, budgets = _pacing(conn, filters, "gross", first, last, True, read=read)
    forecasts, closed = _forecasts(conn, filters, first, last)
    ae_rows, company, month_rows, ae_month_rows = _pace_tables(months, booked, budgets, PACE_COLUMNS, year,
                                                               forecasts, closed)
    quarters = []
    for q in sorted({(m // 100, (m % 100 + 2) // 3) for m in months}):
        q_months = [m for m in months if (m // 100, (m % 100 + 2) // 3) == q]
        for r in ae_rows:
            quarters.append({"ae": r["ae"], "quarter": f"Q{q[1]} {q[0]}",
                             **_pace(q_months, booked.get(r["ae"], {}), budgets.get(r["ae"]),
                                     forecasts.get(r["ae"]), closed)})
    words = _period_words(first, last)
    return Report(
        name="management_performance",
        filters={**filters.as_dict(), "year": year, "first_month": first, "last_month": last},
        options=options,
        extra={"has_budgets": bool(budgets), "has_forecasts": bool(forecasts), "company": company, "period": words},
        tables=[
            Table("aes", f"Booked vs forecast and budget, {words}", [Column("ae", "AE", "ae")] + PACE_COLUMNS, ae_rows,
                  {"ae": "Total", **company}),
            Table("months", f"Company by month, {words}", [Column("month", "Month", "month")] + PACE_COLUMNS,
                  month_rows, {"month": "Total", **company}),
            Table("ae_months", f"Each AE by month, {words}",
                  [Column("ae", "AE", "ae"), Column("month", "Month", "month")] + PACE_COLUMNS, ae_month_rows),
            Table("quarters", f"Each AE by quarter, {words}",
                  [Column("ae", "AE", "ae"), Column("quarter", "Quarter")] + PACE_COLUMNS, quarters),
        ],
    )


# The reports index's headline figures -----------------------------------------------------------

def index(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    """This month, quarter to date and year to date: booked (gross, every revenue type) against
    forecast, budget and the same months last year — for the company, or an ae user's own AE."""
    month = current_month(today)
    first = month // 100 * 100 + 1
    _, booked, budgets = _pacing(conn, filters, "gross", first, month, True)
    forecasts, closed = _forecasts(conn, filters, first, month)
    aes = sorted(set(booked) | set(budgets) | set(forecasts))
    total, goal = _company(_months(first, month), booked, budgets, aes)
    _, expected = _company(_months(first, month), {}, forecasts, aes)
    quarter_start = first + 3 * ((month % 100 - 1) // 3)
    rows = [{"period": name, "key": key, "months": _period_words(start, month),
             **_pace(_months(start, month), total, goal or None, expected, closed)}
            for name, key, start in (("This month", "month", month), ("Quarter to date", "qtd", quarter_start),
                                     ("Year to date", "ytd", first))]
    return Report(
        name="index", filters={**filters.as_dict(), "year": month // 100}, options={},
        extra={"month": month},
        tables=[Table("headline", "Booked against budget and last year",
                      [Column("period", "Period"), Column("months", "Months")] + PACE_COLUMNS, rows)],
    )
