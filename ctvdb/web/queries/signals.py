"""Account signals as the pages show them (DOMAIN.md §8): the last import's signals (ctvdb/signals.py)
with what people decided about them (ctvdb/signal_states.py), a table per signal, and the revenue
at risk per AE. `/reports/signals` shows them; the AE's page and the manager's page call the same
functions with an AE filter.

Shown: a signal not snoozed (a snooze hides it until its day, and it is back on that day) and not
dismissed in its current run (a dismissal holds until the account stops having the signal).
Revenue at risk = prior − trailing of the churned and declining customers, snoozed ones included
(the risk is there while nobody looks) and dismissed ones left out (a person judged them not at
risk). Agencies are not counted in it: their figures are their customers' sums.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from ctvdb.signals import SIGNALS, WORDS
from ctvdb.web.params import Filters
from ctvdb.web.queries.base import Column, Report, Table, _pct

AT_RISK = ("churned", "declining")
SHOW_WORDS = {"open": "Not snoozed or dismissed", "all": "All, with the snoozed and dismissed"}
# The figures each signal's table shows, after the account's names and before its AE.
FIGURES = {
    "churned": [Column("prior", "Prior 12 months", "money"), Column("trailing", "Last 12 months", "money"),
                Column("ahead", "Booked ahead", "money"), Column("last_month", "Last month booked", "month")],
    "declining": [Column("prior", "Prior 12 months", "money"), Column("trailing", "Last 12 months", "money"),
                  Column("share", "Last 12 as % of prior", "pct"), Column("gap", "Gap", "money"),
                  Column("ahead", "Booked ahead", "money")],
    "gone_quiet": [Column("lifetime", "All months", "money"), Column("last_spot", "Last spot", "date"),
                   Column("days_quiet", "Days without a spot", "int"),
                   Column("months_booked", "Months booked of the last 24", "int", minor=True),
                   Column("quiet_after", "Quiet after, days", "int", minor=True)],
    "new_account": [Column("first_spot", "First spot", "date"), Column("lifetime", "All months", "money"),
                    Column("trailing", "Last 12 months", "money", minor=True),
                    Column("ahead", "Booked ahead", "money")],
    "growing": [Column("prior", "Prior 12 months", "money"), Column("trailing", "Last 12 months", "money"),
                Column("share", "Last 12 as % of prior", "pct")],
    "renewal_gap": [Column("last_3", "Last 3 months", "money"), Column("next_3", "Next 3 months", "money"),
                    Column("share", "Next 3 as % of last 3", "pct"), Column("ahead", "Booked ahead", "money", minor=True)],
}
RULES = {
    "churned": "$10,000 or more in the prior 12 months, nothing in the last 12 or booked ahead.",
    "declining": "$10,000 or more in the prior 12 months; the last 12 above zero but under 70 % of them, and"
                 " booked ahead less than half the gap.",
    "gone_quiet": "$10,000 or more in all, nothing booked ahead, no spot for more than 90 days (booked in 20"
                  " or more of the last 24 months), 120 days (12 or more) or 240 days (6 or more); not churned.",
    "new_account": "First spot within the last 12 months and $5,000 or more in all.",
    "growing": "$10,000 or more in the last 12 months, and more than 130 % of the prior 12.",
    "renewal_gap": "Gross in the last 3 months, and less than 25 % of it booked in the next 3.",
}


def signal_rows(conn: sqlite3.Connection, today: date, *, ae: str | None = None, signal: str | None = None,
                hidden: bool = False) -> list[dict]:
    """The signals of the last import, largest first within each signal, each with its figures,
    names and state; only the shown ones unless `hidden`. Accounts merged since are left out."""
    rows = []
    for r in conn.execute(
            "SELECT a.object_type, a.object_id, a.signal, a.ae, a.figures_json, a.since, a.since_batch,"
            " c.name AS customer_name, c.merged_into AS customer_merged, c.agency_id AS customer_agency,"
            " coalesce(ca.name, '') AS customer_agency_name, g.name AS agency_name, g.merged_into AS agency_merged,"
            " (SELECT count(*) FROM customers x WHERE a.object_type = 'agency' AND x.agency_id = a.object_id"
            "   AND x.merged_into IS NULL) AS agency_customers,"
            " t.state, t.snoozed_until, t.reason, t.run_batch, t.changed_by, coalesce(t.version, 0) AS version"
            " FROM account_signals a"
            " LEFT JOIN customers c ON a.object_type = 'customer' AND c.id = a.object_id"
            " LEFT JOIN agencies ca ON ca.id = c.agency_id"
            " LEFT JOIN agencies g ON a.object_type = 'agency' AND g.id = a.object_id"
            " LEFT JOIN signal_states t ON t.object_type = a.object_type AND t.object_id = a.object_id"
            "  AND t.signal = a.signal"
            " WHERE (? IS NULL OR a.ae = ?) AND (? IS NULL OR a.signal = ?)",
            (ae, ae, signal, signal)):
        if r["customer_merged"] is not None or r["agency_merged"] is not None:
            continue
        state = _state(r, today)
        if state and not hidden:
            continue
        rows.append(_row(r, state))
    order = {s: i for i, s in enumerate(SIGNALS)}
    rows.sort(key=lambda row: (order[row["signal"]], -size(row), row["customer"] or "", row["agency"]))
    return rows


def _state(r, today: date) -> str:
    """'' when shown, else what hides it, in words."""
    if r["state"] == "snoozed" and r["snoozed_until"] > today.isoformat():
        return f"Snoozed until {r['snoozed_until']} by {r['changed_by']}"
    if r["state"] == "dismissed" and r["run_batch"] == r["since_batch"]:
        return f"Dismissed by {r['changed_by']}: {r['reason']}"
    return ""


def _row(r, state: str) -> dict:
    f = json.loads(r["figures_json"])
    is_customer = r["object_type"] == "customer"
    share = {"declining": (f["trailing"], f["prior"]), "growing": (f["trailing"], f["prior"]),
             "renewal_gap": (f["next_3"], f["last_3"])}.get(r["signal"])
    return f | {
        "object_type": r["object_type"], "object_id": r["object_id"], "signal": r["signal"],
        "signal_name": WORDS[r["signal"]], "ae": r["ae"], "since": r["since"], "run": r["since_batch"],
        "version": r["version"], "state": state,
        "customer_id": r["object_id"] if is_customer else None,
        "customer": r["customer_name"] if is_customer else f"All {r['agency_customers']} of its customers",
        "agency": r["customer_agency_name"] if is_customer else (r["agency_name"] or f"#{r['object_id']}"),
        "gap": round(f["prior"] - f["trailing"], 2),
        "share": _pct(*share) if share else None,
    }


def size(row: dict) -> float:
    """What puts the biggest account first: the money the signal is about."""
    return {"churned": row["prior"], "declining": row["gap"], "gone_quiet": row["lifetime"],
            "new_account": row["lifetime"], "growing": row["trailing"], "renewal_gap": row["last_3"]}[row["signal"]]


def revenue_at_risk(conn: sqlite3.Connection, today: date, *, ae: str | None = None) -> list[dict]:
    """Per AE: how many churned and declining customers, and prior − trailing of them (see above)."""
    by_ae: dict[str, dict] = {}
    for row in signal_rows(conn, today, ae=ae, hidden=True):
        if row["signal"] not in AT_RISK or row["object_type"] != "customer" or row["state"].startswith("Dismissed"):
            continue
        entry = by_ae.setdefault(row["ae"], {"ae": row["ae"], "churned": 0, "declining": 0, "at_risk": 0.0})
        entry[row["signal"]] += 1
        entry["at_risk"] = round(entry["at_risk"] + row["gap"], 2)
    return sorted(by_ae.values(), key=lambda e: (-e["at_risk"], e["ae"]))


def signals(conn: sqlite3.Connection, signal: str | None = None, show: str = "open", *, filters: Filters,
            today: date) -> Report:
    """The signals page: the revenue at risk per AE, then a table per signal (one with `signal`)."""
    rows = signal_rows(conn, today, ae=filters.ae, signal=signal, hidden=show == "all")
    names = [Column("customer", "Customer", "customer"), Column("agency", "Agency", "agency")]
    after = [Column("ae", "AE", "ae"), Column("since", "Signal since", "date", minor=True)]
    if show == "all":
        after.append(Column("state", "Snoozed or dismissed"))
    tables = []
    at_risk = revenue_at_risk(conn, today, ae=filters.ae)
    tables.append(Table("at_risk", "Revenue at risk by AE", [
        Column("ae", "AE", "ae"), Column("churned", "Churned customers", "int"),
        Column("declining", "Declining customers", "int"), Column("at_risk", "Revenue at risk", "money")], at_risk,
        totals={"ae": "Total", "churned": sum(e["churned"] for e in at_risk),
                "declining": sum(e["declining"] for e in at_risk),
                "at_risk": round(sum(e["at_risk"] for e in at_risk), 2)} if at_risk else None))
    for name in ([signal] if signal else SIGNALS):
        tables.append(Table(name, WORDS[name], names + FIGURES[name] + after,
                            [r for r in rows if r["signal"] == name]))
    aes = [r[0] for r in conn.execute("SELECT DISTINCT ae FROM account_signals ORDER BY ae")]
    applied = filters.as_dict() | {"signal": signal, "show": show}
    applied = {k: v for k, v in applied.items() if k in ("ae", "signal", "show") and v}
    return Report("signals", applied, tables,
                  options={"aes": aes, "signals": [(s, WORDS[s]) for s in SIGNALS], "show": list(SHOW_WORDS.items())},
                  extra={"rules": RULES, "computed_on": computed_on(conn)})


def computed_on(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT max(computed_on) FROM account_signals").fetchone()[0]
