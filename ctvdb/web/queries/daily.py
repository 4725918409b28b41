"""The sales team's daily pages (issue 13, DOMAIN.md §8): an AE's own page (/me) and the
manager's (/manager).

Each is made of the tables of the pages they summarise, for one AE or for all: booked against
forecast, budget and last year from the pacing of revenue.py (management performance), the
account signals of signals.py, the new and changed business of business.py, and the booking
pace of pace.py. So a figure here is the figure on the page it links to, computed once.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date
from urllib.parse import urlencode

from ctvdb import accounts_read
from ctvdb.web.params import Filters
from ctvdb.web.queries import business, pace, revenue, signals
from ctvdb.web.queries.base import Column, Report, Table, _money, _months_back, _options, current_month

ACCOUNTS = 50          # an AE's accounts shown, largest first: the rest are on customer revenue
OPEN_SIGNALS = 25      # the manager's signals not yet looked at, largest first
CHANGES = 15           # the largest changes since the import before

PERIOD_COLUMNS = [
    Column("period", "Period"), Column("months", "Months", minor=True),
    Column("booked", "Booked", "money"), Column("forecast", "Forecast", "money"),
    Column("budget", "Budget", "money"), Column("pacing", "% of budget", "pace"),
    Column("still_to_book", "Still to book", "money"),
    Column("last_year", "Same months last year", "money"), Column("change_pct", "Change vs last year", "change_pct"),
]
FIGURES = ("booked", "forecast", "budget", "pacing", "still_to_book", "last_year", "change", "change_pct")


def _periods(today: date) -> list[tuple[str, str, dict]]:
    """(key, label, the filters that select it): this broadcast month, its quarter, its year."""
    month = current_month(today)
    year, quarter = month // 100, (month % 100 + 2) // 3
    return [("month", "This month", {"period": "month", "year": year}),
            ("quarter", f"Q{quarter} {year}", {"quarter": quarter, "year": year}),
            ("year", f"Year {year}", {"period": "year", "year": year})]


def _pacing(conn: sqlite3.Connection, filters: Filters, today: date, chosen: dict, read: dict | None = None) -> Report:
    """Management performance for one period, with only the AE filter of `filters` kept: budgets
    and forecasts are per AE for every revenue type, market and class together. `read`: _year_read()."""
    period = Filters(ae=filters.ae, **chosen)
    return revenue.management_performance(conn, period, today, read)


def _year_read(conn: sqlite3.Connection, filters: Filters, today: date) -> dict:
    """What the three periods of _periods() have booked and a year before, read once: the
    broadcast year and the one before it (the month and the quarter are in the year)."""
    year = current_month(today) // 100
    return revenue.booked_by_ae(conn, Filters(ae=filters.ae), (year - 1) * 100 + 1, year * 100 + 12)


def period_rows(conn: sqlite3.Connection, filters: Filters, today: date) -> list[dict]:
    """This month, quarter and year for the AE of `filters` (or the company): booked vs forecast
    vs budget vs last year, as management performance shows them."""
    rows = []
    read = _year_read(conn, filters, today)
    for _, label, chosen in _periods(today):
        report = _pacing(conn, filters, today, chosen, read)
        table = report.table("aes")
        found = next((r for r in table.rows if r["ae"] == filters.ae), None) if filters.ae else table.totals
        figures = {k: (found or {}).get(k) for k in FIGURES}
        rows.append({"period": label, "months": report.extra["period"], **figures})
    return rows


def accounts(conn: sqlite3.Connection, ae: str, today: date) -> Table:
    """The AE's customers (their spots sold by this AE): the trailing 12 months up to last month,
    this month, booked ahead, and the signals the last import found; largest first."""
    month = current_month(today)
    last = _months_back(month, 1)
    first = _months_back(month, 12)
    found = {}
    for r in conn.execute(
            "SELECT s.customer_id, c.name, c.agency_chain,"
            " total(s.gross) FILTER (WHERE s.broadcast_month BETWEEN ? AND ?) AS trailing,"
            " total(s.gross) FILTER (WHERE s.broadcast_month = ?) AS this_month,"
            " total(s.gross) FILTER (WHERE s.broadcast_month > ?) AS ahead"
            " FROM customer_total_summary s JOIN customers c ON c.id = s.customer_id"
            " WHERE s.broadcast_month >= ? AND s.ae = ? GROUP BY s.customer_id", (first, last, month, month, first, ae)):
        found[r["customer_id"]] = {"customer_id": r["customer_id"], "customer": r["name"],
                                   "agency": r["agency_chain"], "trailing": _money(r["trailing"]),
                                   "this_month": _money(r["this_month"]), "ahead": _money(r["ahead"]),
                                   "signals": ""}
    for s in signals.signal_rows(conn, today, ae=ae):
        if s["object_type"] == "customer" and s["object_id"] in found:
            row = found[s["object_id"]]
            row["signals"] = ", ".join(filter(None, [row["signals"], s["signal_name"]]))
    rows = sorted(found.values(), key=lambda r: (-(r["trailing"] + r["this_month"] + r["ahead"]), r["customer"]))
    return Table("accounts", f"Accounts, largest first (the {ACCOUNTS} largest)" if len(rows) > ACCOUNTS else "Accounts",
                 [Column("customer", "Customer", "customer"), Column("agency", "Agency", minor=True),
                  Column("trailing", "Last 12 months", "money"), Column("this_month", "This month", "money"),
                  Column("ahead", "Booked ahead", "money"), Column("signals", "Signals")], rows[:ACCOUNTS])


FOLLOW_UP_DAYS = 7     # an AE's page: follow-ups overdue and due within the week


def _account_href(ref: str) -> str:
    kind, _, number = ref.partition(":")
    return f"/accounts/{kind}/{number}"


def follow_ups(conn: sqlite3.Connection, ae: str, today: date) -> Table:
    """The AE's open follow-ups (owned by their AE key) overdue or due within the week (issue 15)."""
    rows = [{"account": r["account_label"], "href": _account_href(r["account"]), "due_on": r["due_on"],
             "status": "overdue" if r["overdue"] else "today" if r["due_today"] else "", "text": r["text"]}
            for r in accounts_read.follow_ups(conn, today, [ae], within_days=FOLLOW_UP_DAYS)]
    return Table("follow_ups", f"Follow-ups overdue and due in the next {FOLLOW_UP_DAYS} days",
                 [Column("account", "Account"), Column("due_on", "Due", "date"), Column("status", "Overdue"),
                  Column("text", "To do")], rows)


def overdue_follow_ups(conn: sqlite3.Connection, today: date) -> Table:
    """How many follow-ups each owner (an AE, or a person by email) has overdue, most first."""
    rows = [{"owner": r["owner"], "overdue": r["overdue"], "oldest": r["oldest"],
             "href": f"/accounts/follow-ups?{urlencode({'owner': r['owner']})}"}
            for r in accounts_read.overdue_by_owner(conn, today)]
    return Table("overdue_follow_ups", "Overdue follow-ups by AE",
                 [Column("owner", "AE or person"), Column("overdue", "Overdue", "int"),
                  Column("oldest", "Oldest due", "date")], rows)


def my_page(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    """/me: one AE's day. Without an AE (a manager who has not chosen one), only the choice."""
    options = {"aes": _options(conn)["aes"]}
    if not filters.ae:   # the choice, as a table too, so the page's downloads have something to give
        return Report("me", {}, [Table("aes", "AEs", [Column("ae", "AE")], [{"ae": ae} for ae in options["aes"]])],
                      options=options, extra={"ae": None})
    ae_only = Filters(ae=filters.ae)
    tables = [Table("periods", f"{filters.ae}: booked against forecast and budget", PERIOD_COLUMNS,
                    period_rows(conn, ae_only, today)),
              pace_table(conn, ae_only, today),
              accounts(conn, filters.ae, today),
              follow_ups(conn, filters.ae, today),
              business.contracts_added(conn, ae_only, today),
              business.reductions(conn, ae_only, today),
              business.waiting_for_copy(conn, ae_only, today)]
    month = current_month(today)
    return Report("me", {"ae": filters.ae}, tables, options=options,
                  extra={"ae": filters.ae, "year": month // 100, "month": month,
                         "snapshot_days": business.snapshot_days(conn, today)})


def pace_table(conn: sqlite3.Connection, filters: Filters, today: date) -> Table:
    """Booking pace for this and the coming months: booked as of today against the same month a
    year earlier at the same point, from the daily snapshots (pace.py)."""
    report = pace.booking_pace(conn, None, pace.snapshot_version(conn), filters=filters, today=today)
    table = report.table("months")
    return dataclasses.replace(table, name="pace", title="Booking pace: booked so far against last year at the same point")


def scoreboard(conn: sqlite3.Connection, today: date) -> list[Table]:
    """One table per period (this month, quarter, year): every AE's booked vs forecast vs budget vs
    last year, with the company's total; the month's table also has each AE's booking pace (booked
    so far against last year's month at the same point, from the snapshots) and revenue at risk."""
    at_risk = {r["ae"]: r for r in signals.revenue_at_risk(conn, today)}
    # Booking pace of this month per AE: booked so far against last year's month at the same point.
    paced = pace.booking_pace(conn, None, pace.snapshot_version(conn), filters=Filters(), today=today)
    pace_of = {r["key"]: r["pace"] for r in paced.table("aes").rows}
    pace_total = (paced.table("aes").totals or {}).get("pace")
    tables = []
    read = _year_read(conn, Filters(), today)
    for key, label, chosen in _periods(today):
        report = _pacing(conn, Filters(), today, chosen, read)
        aes = report.table("aes")
        columns = [Column("ae", "AE", "ae")] + [c for c in PERIOD_COLUMNS if c.key in FIGURES]
        rows = [{"ae": r["ae"], **{k: r.get(k) for k in FIGURES}} for r in aes.rows]
        totals = {"ae": "Company", **{k: (aes.totals or {}).get(k) for k in FIGURES}}
        if key == "month":
            columns += [Column("booking_pace", "Pace vs last year, same point", "pace"),
                        Column("at_risk", "Revenue at risk", "money")]
            for r in rows:
                r["booking_pace"] = pace_of.get(r["ae"])
                r["at_risk"] = at_risk.get(r["ae"], {}).get("at_risk")
            totals["booking_pace"] = pace_total
            totals["at_risk"] = _money(sum(r["at_risk"] for r in at_risk.values())) if at_risk else None
        tables.append(Table(f"score_{key}", f"{label} ({report.extra['period']})", columns, rows, totals))
    return tables


def open_signals(conn: sqlite3.Connection, today: date) -> Table:
    """The signals nobody has snoozed or dismissed, the largest first (the money each is about)."""
    rows = signals.signal_rows(conn, today)
    rows.sort(key=lambda r: -signals.size(r))
    return Table("signals", "Signals not yet looked at",
                 [Column("signal_name", "Signal"), Column("customer", "Customer", "customer"),
                  Column("agency", "Agency", minor=True), Column("ae", "AE", "ae"),
                  Column("prior", "Prior 12 months", "money"), Column("trailing", "Last 12 months", "money"),
                  Column("since", "Since", "date", minor=True)], rows[:OPEN_SIGNALS])


def largest_changes(conn: sqlite3.Connection, today: date) -> Table:
    """Each customer's booked gross in this and later broadcast months, between the two latest
    import days (the contract snapshots): the largest rises and falls, by size."""
    later, earlier = business.snapshot_days(conn, today)
    rows = []
    if later and earlier:
        from_month = current_month(date.fromisoformat(later))
        for r in conn.execute(
                "SELECT customer_id, ae, total(gross) FILTER (WHERE snapshot_date = ?) AS after,"
                " total(gross) FILTER (WHERE snapshot_date = ?) AS before FROM contract_snapshots"
                " WHERE snapshot_date IN (?, ?) AND broadcast_month >= ? GROUP BY customer_id, ae",
                (later, earlier, later, earlier, from_month)):
            change = round(r["after"] - r["before"], 2)
            if change:
                rows.append({"customer_id": r["customer_id"], "ae": r["ae"], "before": _money(r["before"]),
                             "after": _money(r["after"]), "change": change})
        rows.sort(key=lambda r: (-abs(r["change"]), r["ae"]))
        rows = rows[:CHANGES]
        names = business.customers_now(conn, [r["customer_id"] for r in rows])
        rows = [business.with_customer(r, names[r["customer_id"]]) for r in rows]
    words = f"{earlier} to {later}" if earlier else "since the import before"
    return Table("changes", f"Largest changes, {words}",
                 [Column("customer", "Customer", "customer"), Column("agency", "Agency", minor=True),
                  Column("ae", "AE", "ae"), Column("before", "Booked before", "money"),
                  Column("after", "Booked now", "money"), Column("change", "Change", "change")], rows)


def manager_page(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    """/manager: the AEs' scoreboard, the signals not yet looked at, the largest changes."""
    tables = scoreboard(conn, today) + [open_signals(conn, today), largest_changes(conn, today),
                                         business.reductions(conn, Filters(), today),
                                         overdue_follow_ups(conn, today)]
    later, earlier = business.snapshot_days(conn, today)
    return Report("manager", {}, tables, extra={"later": later, "earlier": earlier,
                                                "computed_on": signals.computed_on(conn)})
