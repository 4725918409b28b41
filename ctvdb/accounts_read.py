"""Reading accounts (issue 15) for the pages, the CSV export and `ctvdb accounts`: the list of
every customer and agency with its AE, sector, agency, revenue, signals and next follow-up, with
filters, accent-blind search and sorting; one account's page; the follow-ups due.

Revenue is the gross of the summary tables (customer_total_summary, Trade never in it), never of
the spots; an agency's is its customers'. With M the broadcast month today is in: trailing 12 =
M − 12 .. M − 1 (as the account signals count it), this year = every month of M's year (booked
ahead included), last year = every month of the year before.

An account's contacts, addresses, activities and follow-ups are its own rows and those of every
id merged into it (accounts.py says why). Each function reads in a few set-wise queries, never one
per account: 5,000 accounts and 20,000 contacts list in a few dozen milliseconds.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
from dataclasses import dataclass, fields

from ctvdb import codes, names
from ctvdb.accounts import TYPES, AccountError, Ref, label, members, ref, survivor, terms
from ctvdb.signals import SIGNALS, WORDS

SORTS = ("name", "type", "ae", "sector", "agency", "trailing", "this_year", "last_year", "change",
         "next_follow_up", "contacts")


@dataclass(frozen=True)
class ListFilters:
    """What the accounts list is filtered and sorted by (the page's query string, a saved filter)."""

    ae: str | None = None              # the assigned AE's key; "NONE": unassigned
    type: str | None = None            # customer | agency
    sector: str | None = None          # a sector code; "NONE": no sector
    signal: str | None = None
    has_revenue: bool = False          # trailing 12 months above zero
    no_contact: bool = False
    overdue: bool = False              # an open follow-up due before today
    q: str | None = None               # accent-blind search of the name and the agency
    inactive: bool = False             # deactivated accounts too
    sort: str = "name"
    desc: bool = False

    @classmethod
    def from_query(cls, query) -> "ListFilters":
        """From a mapping of query-string values (werkzeug's args, a parsed saved filter); a bad
        value is one sentence naming it."""
        def get(key):
            value = query.get(key)
            return None if value is None or str(value).strip() == "" else str(value).strip()

        def yes(key):
            value = (get(key) or "").lower()
            if value not in ("", "1", "yes", "true", "on"):
                raise AccountError(f"{key}: “{value}” is not 1 or yes.")
            return bool(value)

        kind = (get("type") or "").lower() or None
        if kind and kind not in TYPES:
            raise AccountError(f"type: “{kind}” is not customer or agency.")
        signal = get("signal")
        if signal and signal not in SIGNALS:
            raise AccountError(f"signal: “{signal}” is not one of {', '.join(SIGNALS)}.")
        sort = get("sort") or "name"
        if sort not in SORTS:
            raise AccountError(f"sort: “{sort}” is not one of {', '.join(SORTS)}.")
        direction = (get("dir") or "asc").lower()
        if direction not in ("asc", "desc"):
            raise AccountError(f"dir: “{direction}” is not asc or desc.")
        ae = get("ae")
        return cls(ae=" ".join(ae.split()).upper() if ae else None, type=kind,
                   sector=(get("sector") or "").upper() or None, signal=signal, has_revenue=yes("has_revenue"),
                   no_contact=yes("no_contact"), overdue=yes("overdue"), q=get("q"), inactive=yes("inactive"),
                   sort=sort, desc=direction == "desc")

    def as_query(self) -> dict:
        """The non-default filters as query-string values (what a saved filter stores)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, False) or (f.name == "sort" and value == "name"):
                continue
            out["dir" if f.name == "desc" else f.name] = "desc" if f.name == "desc" else (1 if value is True else value)
        return out


@dataclass(frozen=True)
class Windows:
    trailing: tuple[int, int]
    this_year: tuple[int, int]
    last_year: tuple[int, int]

    @classmethod
    def of(cls, today: dt.date) -> "Windows":
        month = codes.broadcast_month(today)
        year = month // 100
        return cls((codes.add_months(month, -12), codes.add_months(month, -1)), (year * 100 + 1, year * 100 + 12),
                   ((year - 1) * 100 + 1, (year - 1) * 100 + 12))


@functools.lru_cache(maxsize=100_000)
def _folded(text: str) -> str:
    return names.fold(text).replace(" ", "")


def _plain(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor handing rows over as tuples: the list reads tens of thousands of rows, and a
    sqlite3.Row each costs a third of the time the list takes."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor


def revenue_by_customer(conn: sqlite3.Connection, today: dt.date, customer_ids=None) -> dict[int, dict]:
    """{customer id: {trailing, this_year, last_year}} from customer_total_summary."""
    w = Windows.of(today)
    where, params = "", []
    if customer_ids is not None:
        where, params = " AND customer_id IN (SELECT value FROM json_each(?))", [json.dumps(list(customer_ids))]
    # The covering index (customer, month, spots, gross) hands the rows over grouped by customer:
    # the primary key's month range would sort 100,000 rows in a temporary b-tree instead.
    return {r[0]: {"trailing": r[1], "this_year": r[2], "last_year": r[3]} for r in _plain(conn).execute(
        "SELECT customer_id, round(total(gross) FILTER (WHERE broadcast_month BETWEEN ? AND ?), 2),"
        " round(total(gross) FILTER (WHERE broadcast_month BETWEEN ? AND ?), 2),"
        " round(total(gross) FILTER (WHERE broadcast_month BETWEEN ? AND ?), 2)"
        " FROM customer_total_summary INDEXED BY customer_total_summary_customer"
        " WHERE broadcast_month BETWEEN ? AND ?" + where + " GROUP BY customer_id",
        (*w.trailing, *w.this_year, *w.last_year, w.last_year[0], w.this_year[1], *params))}


def _roots(conn: sqlite3.Connection) -> dict[tuple[str, int], int]:
    """{(type, id merged away): the id of the account that shows it}, through chains of merges."""
    out = {}
    for kind, table in (("customer", "customers"), ("agency", "agencies")):
        into = dict(conn.execute(f"SELECT id, merged_into FROM {table} WHERE merged_into IS NOT NULL").fetchall())
        for start in into:
            seen, current = {start}, into[start]
            while current in into and current not in seen:
                seen.add(current)
                current = into[current]
            out[(kind, start)] = current
    return out


def revenue_version(conn: sqlite3.Connection) -> tuple:
    """What revenue_by_customer depends on: customer_total_summary changes only with an import
    and with a person's change to who a customer is (customers.py refreshes the summaries of the
    customers it touches), never with an account's own edits, so a cached copy keyed by this
    outlives them."""
    return tuple(conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM import_batches WHERE status = 'COMPLETED'),"
        " (SELECT coalesce(max(change_id), 0) FROM change_objects WHERE object_type = 'customer'),"
        " (SELECT coalesce(max(change_id), 0) FROM change_objects WHERE object_type = 'agency')").fetchone())


def extras_version(conn: sqlite3.Connection) -> tuple:
    """What account_extras depends on: a person's edits (every one is a change-log row) and rows
    written in bulk (the newest row of each table). An import writes none of them, so a cached copy
    keyed by this outlives the nightly import."""
    return tuple(conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM changes), (SELECT coalesce(max(id), 0) FROM account_contacts),"
        " (SELECT coalesce(max(id), 0) FROM account_follow_ups),"
        " (SELECT coalesce(max(id), 0) FROM account_assignments), (SELECT count(*) FROM accounts)").fetchone())


@dataclass(frozen=True)
class Extras:
    """The list's figures kept by people, by (type, id) as written (before merges are followed):
    the AE assigned on the day, deactivated accounts, live contacts, the first open follow-up."""
    ae: dict
    inactive: frozenset
    contacts: dict
    next_due: dict


def account_extras(conn: sqlite3.Connection, today: dt.date) -> Extras:
    day = today.isoformat()
    cursor = _plain(conn)
    ae = {(kind, account_id): who for kind, account_id, who in cursor.execute(
        "SELECT account_type, account_id, ae FROM account_assignments WHERE effective_from <= ?"
        " AND (effective_to IS NULL OR effective_to >= ?) ORDER BY effective_from, id", (day, day))}
    inactive = frozenset(cursor.execute("SELECT account_type, account_id FROM accounts WHERE NOT active"))
    contacts = {(kind, account_id): count for kind, account_id, count in cursor.execute(
        "SELECT account_type, account_id, count(*) FROM account_contacts WHERE removed_at IS NULL GROUP BY 1, 2")}
    next_due = {(kind, account_id): due for kind, account_id, due in cursor.execute(
        "SELECT account_type, account_id, min(due_on) FROM account_follow_ups WHERE done_at IS NULL GROUP BY 1, 2")}
    return Extras(ae, inactive, contacts, next_due)


def list_accounts(conn: sqlite3.Connection, today: dt.date, filters: ListFilters = ListFilters(),
                  revenue_of: str | None = None, revenue: dict[int, dict] | None = None,
                  extras: Extras | None = None) -> list[dict]:
    """Every account not merged away (deactivated ones only with `filters.inactive`), filtered,
    searched and sorted: type, id, name, agency, sector, ae, trailing, this_year, last_year, change,
    signals, next_follow_up, overdue, contacts, active.

    `revenue_of` (an AE's key, or "" for nobody) keeps the figures and signals of the accounts
    assigned to that AE only: the others' are None and [] before the list is filtered and sorted,
    so neither a filter nor the order tells an ae what another AE's account books. `revenue`:
    revenue_by_customer(conn, today) if the caller has it already (the web cache keeps it by
    revenue_version); `extras`: account_extras(conn, today), likewise (kept by extras_version)."""
    day = today.isoformat()
    roots = _roots(conn)
    revenue = revenue_by_customer(conn, today) if revenue is None else revenue
    extras = account_extras(conn, today) if extras is None else extras
    zero = {"trailing": 0.0, "this_year": 0.0, "last_year": 0.0}
    rows: dict[tuple[str, int], dict] = {}
    by_agency: dict[int, list[float]] = {}
    assigned, inactive = extras.ae, extras.inactive

    def row(kind, account_id, name, agency, agency_id, chain, sector_code, sector, money):
        where = (kind, account_id)
        return {"type": kind, "id": account_id, "name": name, "agency": agency, "agency_id": agency_id,
                "agency_chain": chain, "sector_code": sector_code, "sector": sector, **money,
                "change": round(money["this_year"] - money["last_year"], 2), "ae": assigned.get(where),
                "signals": (), "signal_words": "", "next_follow_up": None, "overdue": False, "contacts": 0,
                "active": 0 if where in inactive else 1, "revenue_hidden": False}

    for customer_id, name, chain, agency_id, agency, sector_code, sector, merged_into in _plain(conn).execute(
            "SELECT c.id, c.name, c.agency_chain, c.agency_id, coalesce(a.name, ''), c.sector_code,"
            " coalesce(s.name, ''), c.merged_into FROM customers c"
            " LEFT JOIN agencies a ON a.id = c.agency_id LEFT JOIN sectors s ON s.code = c.sector_code"):
        money = revenue.get(customer_id, zero)
        if agency_id is not None and money is not zero:
            total = by_agency.setdefault(agency_id, [0.0, 0.0, 0.0])
            total[0] += money["trailing"]
            total[1] += money["this_year"]
            total[2] += money["last_year"]
        if merged_into is None:
            rows[("customer", customer_id)] = row("customer", customer_id, name, agency, agency_id, chain, sector_code,
                                                  sector, money)
    no_money = {"trailing": 0.0, "this_year": 0.0, "last_year": 0.0}
    for agency_id, name in _plain(conn).execute("SELECT id, name FROM agencies WHERE merged_into IS NULL"):
        figures = by_agency.get(agency_id)
        money = no_money if figures is None else {
            "trailing": round(figures[0], 2), "this_year": round(figures[1], 2), "last_year": round(figures[2], 2)}
        rows[("agency", agency_id)] = row("agency", agency_id, name, "", None, "", None, "", money)
    for where, count in extras.contacts.items():
        found = rows.get((where[0], roots.get(where, where[1])))
        if found is not None:
            found["contacts"] += count
    for where, due in extras.next_due.items():
        found = rows.get((where[0], roots.get(where, where[1])))
        if found is not None and (found["next_follow_up"] is None or due < found["next_follow_up"]):
            found["next_follow_up"] = due
            found["overdue"] = due < day
    signals_of: dict[tuple[str, int], list[str]] = {}
    for kind, account_id, signal in _plain(conn).execute("SELECT object_type, object_id, signal FROM account_signals"):
        if (kind, account_id) in rows:
            signals_of.setdefault((kind, account_id), []).append(signal)
    # A row holds only strings, numbers and tuples, so the garbage collector never tracks the
    # thousands of them (a list in each made every page of the list pay for collections).
    for where, signals in signals_of.items():
        signals.sort(key=SIGNALS.index)
        rows[where]["signals"] = tuple(signals)
        rows[where]["signal_words"] = ", ".join(WORDS[s] for s in signals)
    if revenue_of is not None:
        for found in rows.values():
            if found["ae"] != revenue_of:
                found.update(trailing=None, this_year=None, last_year=None, change=None, signals=(), signal_words="",
                             revenue_hidden=True)
    return sort_rows([r for r in rows.values() if _kept(r, filters)], filters)


def _kept(row: dict, f: ListFilters) -> bool:
    if not f.inactive and not row["active"]:
        return False
    if f.type and row["type"] != f.type:
        return False
    if f.ae and (row["ae"] or "NONE") != f.ae:
        return False
    if f.sector and (row["sector_code"] or "NONE") != f.sector:
        return False
    if f.signal and f.signal not in row["signals"]:
        return False
    if f.has_revenue and not (row["trailing"] or 0) > 0:
        return False
    if f.no_contact and row["contacts"]:
        return False
    if f.overdue and not row["overdue"]:
        return False
    if f.q:
        wanted = _folded(f.q)
        if wanted and wanted not in _folded(row["name"]) and wanted not in _folded(row["agency_chain"] or row["agency"]):
            return False
    return True


def sort_rows(rows: list[dict], f: ListFilters) -> list[dict]:
    """By the chosen column (blanks last either way), then by name, type and id."""
    def by_name(r):
        return (_folded(r["name"]), r["type"], r["id"])

    rows = sorted(rows, key=by_name)
    if f.sort == "name":
        return rows[::-1] if f.desc else rows
    key = {"type": lambda r: r["type"], "ae": lambda r: r["ae"], "sector": lambda r: r["sector"] or None,
           "agency": lambda r: _folded(r["agency"]) or None, "next_follow_up": lambda r: r["next_follow_up"]}.get(
        f.sort, lambda r: r[f.sort])
    present = [r for r in rows if key(r) is not None]
    blank = [r for r in rows if key(r) is None]
    return sorted(present, key=key, reverse=f.desc) + blank


# One account -----------------------------------------------------------------------------------

def account_page(conn: sqlite3.Connection, account, today: dt.date) -> dict:
    """Everything the account's page shows. An account merged away has `merged_into` set (the
    page sends the reader there) and is otherwise read as it is."""
    account = ref(account)
    table = "customers" if account.type == "customer" else "agencies"
    if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (account.id,)).fetchone() is None:
        raise AccountError(f"There is no {account.type} {account.id}.")
    home = survivor(conn, account)
    ids = members(conn, account)
    in_ids = json.dumps(ids)
    day = today.isoformat()
    head = _head(conn, account)
    contacts = [dict(r) for r in conn.execute(
        "SELECT * FROM account_contacts WHERE account_type = ? AND account_id IN (SELECT value FROM json_each(?))"
        " AND removed_at IS NULL ORDER BY is_primary DESC, name, id", (account.type, in_ids))]
    addresses = [dict(r) for r in conn.execute(
        "SELECT * FROM account_addresses WHERE account_type = ? AND account_id IN (SELECT value FROM json_each(?))"
        " AND removed_at IS NULL ORDER BY kind, id", (account.type, in_ids))]
    assignments = [dict(r) for r in conn.execute(
        "SELECT id, ae, effective_from, effective_to, assigned_by, assigned_at FROM account_assignments"
        " WHERE account_type = ? AND account_id = ? ORDER BY effective_from DESC, id DESC", (account.type, account.id))]
    current = next((a["ae"] for a in assignments if a["effective_from"] <= day
                    and (a["effective_to"] is None or a["effective_to"] >= day)), None)
    activities = [dict(r) for r in conn.execute(
        "SELECT a.id, a.account_id, a.kind, a.happened_on, a.who, a.text, a.contact_id, a.logged_at,"
        " coalesce(c.name, '') AS contact FROM account_activities a LEFT JOIN account_contacts c ON c.id = a.contact_id"
        " WHERE a.account_type = ? AND a.account_id IN (SELECT value FROM json_each(?))"
        " ORDER BY a.happened_on DESC, a.id DESC", (account.type, in_ids))]
    follow_ups = [dict(r, overdue=r["done_at"] is None and r["due_on"] < day) for r in conn.execute(
        "SELECT * FROM account_follow_ups WHERE account_type = ? AND account_id IN (SELECT value FROM json_each(?))"
        " ORDER BY done_at IS NOT NULL, due_on, id", (account.type, in_ids))]
    customer_ids = ids if account.type == "customer" else [r[0] for r in conn.execute(
        "SELECT id FROM customers WHERE agency_id IN (SELECT value FROM json_each(?))", (in_ids,))]
    revenue = revenue_by_customer(conn, today, customer_ids)
    totals = {k: round(sum(r[k] for r in revenue.values()), 2) for k in ("trailing", "this_year", "last_year")}
    month = codes.broadcast_month(today)
    first = codes.add_months(month, -23)
    by_month = dict(conn.execute(
        "SELECT broadcast_month, round(total(gross), 2) FROM customer_total_summary WHERE broadcast_month BETWEEN ? AND ?"
        " AND customer_id IN (SELECT value FROM json_each(?)) GROUP BY 1", (first, month, json.dumps(customer_ids))))
    advertisers = []
    if account.type == "agency":
        for r in conn.execute("SELECT id, name, agency_chain FROM customers WHERE merged_into IS NULL AND agency_id IN"
                              " (SELECT value FROM json_each(?)) ORDER BY name, id", (in_ids,)):
            money = revenue.get(r["id"], {"trailing": 0.0, "this_year": 0.0, "last_year": 0.0})
            advertisers.append({"id": r["id"], "name": r["name"], "agency_chain": r["agency_chain"], **money})
        advertisers.sort(key=lambda a: (-a["trailing"], -a["this_year"], a["name"]))
    return {
        **head, "ref": str(account), "merged_into": None if home == account else str(home),
        "merged_label": None if home == account else label(conn, home),
        "members": [{"id": i, "label": label(conn, Ref(account.type, i))} for i in ids if i != account.id],
        "terms": terms(conn, account), "ae": current, "assignments": assignments, "contacts": contacts,
        "addresses": addresses, "activities": activities, "follow_ups": follow_ups,
        "revenue": {**totals, "change": round(totals["this_year"] - totals["last_year"], 2),
                    "months": [{"month": m, "gross": by_month.get(m, 0.0)} for m in codes.month_span(first, month)]},
        "advertisers": advertisers,
        "signals": [r[0] for r in conn.execute("SELECT signal FROM account_signals WHERE object_type = ? AND object_id = ?",
                                                (account.type, account.id))],
    }


def month_grid(months: list[dict]) -> list[dict]:
    """The account page's months ({month, gross}) as a year a row, newest first: {year, cells
    (January to December, None where the 24 months do not reach), total of its cells}."""
    years: dict[int, list] = {}
    for m in months:
        years.setdefault(m["month"] // 100, [None] * 12)[m["month"] % 100 - 1] = m["gross"]
    return [{"year": year, "cells": cells, "total": round(sum(c for c in cells if c is not None), 2)}
            for year, cells in sorted(years.items(), reverse=True)]


def _head(conn, account: Ref) -> dict:
    if account.type == "customer":
        r = conn.execute("SELECT c.name, c.agency_chain, c.agency_id, coalesce(a.name, '') AS agency, c.sector_code,"
                         " coalesce(s.name, '') AS sector FROM customers c LEFT JOIN agencies a ON a.id = c.agency_id"
                         " LEFT JOIN sectors s ON s.code = c.sector_code WHERE c.id = ?", (account.id,)).fetchone()
        return {"type": "customer", "id": account.id, "label": label(conn, account), **dict(r)}
    r = conn.execute("SELECT name FROM agencies WHERE id = ?", (account.id,)).fetchone()
    return {"type": "agency", "id": account.id, "label": label(conn, account), "name": r["name"], "agency_chain": "",
            "agency_id": None, "agency": "", "sector_code": None, "sector": ""}


# Follow-ups ------------------------------------------------------------------------------------

def follow_ups(conn: sqlite3.Connection, today: dt.date, owners=None, *, within_days: int | None = None) -> list[dict]:
    """Open follow-ups (of `owners`, AE keys or emails; everyone's without), earliest first, each
    with its account (the one whose page shows it), `overdue` (due before today) and `due_today`;
    with `within_days`, only those due by then."""
    day = today.isoformat()
    until = (today + dt.timedelta(days=within_days)).isoformat() if within_days is not None else "9999-12-31"
    wanted = None if owners is None else json.dumps([o.strip().upper() if "@" not in o else o.strip().lower()
                                                      for o in owners if o and o.strip()])
    roots = _roots(conn)
    labels: dict[Ref, str] = {}   # an account with many follow-ups is looked up once
    rows = []
    for r in conn.execute(
            "SELECT * FROM account_follow_ups WHERE done_at IS NULL AND due_on <= ?"
            + ("" if wanted is None else " AND owner IN (SELECT value FROM json_each(?))") + " ORDER BY due_on, id",
            (until,) if wanted is None else (until, wanted)):
        home = Ref(r["account_type"], roots.get((r["account_type"], r["account_id"]), r["account_id"]))
        if home not in labels:
            labels[home] = label(conn, home)
        rows.append({**dict(r), "account": str(home), "account_label": labels[home],
                     "overdue": r["due_on"] < day, "due_today": r["due_on"] == day})
    return rows


def overdue_by_owner(conn: sqlite3.Connection, today: dt.date) -> list[dict]:
    """Per owner: how many follow-ups are overdue and the oldest due day; most first (the manager's
    table). Counted in SQL: the table needs no account's name."""
    return [{"owner": owner, "overdue": n, "oldest": oldest} for owner, n, oldest in conn.execute(
        "SELECT owner, count(*), min(due_on) FROM account_follow_ups WHERE done_at IS NULL AND due_on < ?"
        " GROUP BY owner ORDER BY 2 DESC, 3, 1", (today.isoformat(),))]



# For the pages -------------------------------------------------------------------------------

def hide_revenue(page: dict) -> dict:
    """An account page without its figures, signals and advertisers' figures (an ae on an account
    not assigned to them sees its name, contacts and activities, not what it books)."""
    blank = {"trailing": None, "this_year": None, "last_year": None}
    return {**page, "revenue": {**blank, "change": None, "months": []}, "signals": [], "revenue_hidden": True,
            "advertisers": [{**a, **blank} for a in sorted(page["advertisers"], key=lambda a: (_folded(a["name"]), a["id"]))]}


def booked_by(conn: sqlite3.Connection, customer_id: int, ae: str) -> bool:
    """Whether the AE has sold the customer anything (the customer's report page opens for them)."""
    return conn.execute("SELECT 1 FROM customer_total_summary INDEXED BY customer_total_summary_customer"
                        " WHERE customer_id = ? AND ae = ? LIMIT 1", (customer_id, ae)).fetchone() is not None


def list_choices(conn: sqlite3.Connection) -> dict:
    """The list's filter choices: the AEs accounts are assigned to now or were, and the sectors."""
    return {"aes": [r[0] for r in conn.execute("SELECT DISTINCT ae FROM account_assignments ORDER BY ae")],
            "sectors": [(r[0], r[1]) for r in conn.execute("SELECT code, name FROM sectors ORDER BY name")]}


def versions(conn: sqlite3.Connection, kind: str, ids) -> dict[int, int]:
    """{id: version} of customers or agencies (the merge form checks them)."""
    table = "customers" if kind == "customer" else "agencies"
    return dict(conn.execute(f"SELECT id, version FROM {table} WHERE id IN (SELECT value FROM json_each(?))",
                             (json.dumps(list(ids)),)).fetchall())
