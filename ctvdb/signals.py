"""Account signals (DOMAIN.md §8): which customers and agencies churned, are declining, went quiet,
are new, are growing or have a renewal gap, recomputed by every import inside its transaction.

Months are broadcast months. With M the month today is in: trailing = the 12 months up to M − 1,
prior = the 12 before those, ahead = every month after M, lifetime = every month; the last 3 months
are M − 3 .. M − 1 and the next 3 are M + 1 .. M + 3 (the current month is in neither, as it is in
neither trailing nor ahead). "Months booked" counts the months of trailing and prior (the 24 up to
M − 1) with gross above zero. An agency's figures are the sums of its customers'.

The figures come from customer_total_summary (the summaries are right when this runs); the spots
are read only for what a summary cannot say, and only for the few accounts a rule still depends
on: the last air date on or before today (gone quiet) and the first air date (new account).
Amounts are compared in whole cents: a float sum that prints as 9999.999999 is the $10,000.00 it means.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from ctvdb import codes

SIGNALS = ("churned", "declining", "gone_quiet", "new_account", "growing", "renewal_gap")
WORDS = {"churned": "Churned", "declining": "Declining", "gone_quiet": "Gone quiet", "new_account": "New account",
         "growing": "Growing", "renewal_gap": "Renewal gap"}
BIG = 1_000_000                  # $10,000 in cents: prior (churned, declining), lifetime (gone quiet), trailing (growing)
NEW_LIFETIME = 500_000           # $5,000: a new account's lifetime gross
# Gone quiet: (months booked of the last 24 at least, days without a spot more than).
QUIET = ((20, 90), (12, 120), (6, 240))


def _month(year: int, month: int) -> int:
    return year * 100 + month


def year_before(today: dt.date) -> dt.date:
    """The same day a year earlier (29 February: the 28th)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


@dataclass(frozen=True)
class Windows:
    """The months each figure sums, for the day an import counts as."""

    today: dt.date
    month: int                   # M, the current broadcast month

    @classmethod
    def of(cls, today: dt.date) -> "Windows":
        return cls(today, codes.broadcast_month(today))

    @property
    def trailing(self) -> tuple[int, int]:
        return codes.add_months(self.month, -12), codes.add_months(self.month, -1)

    @property
    def prior(self) -> tuple[int, int]:
        return codes.add_months(self.month, -24), codes.add_months(self.month, -13)

    @property
    def last_3(self) -> tuple[int, int]:
        return codes.add_months(self.month, -3), codes.add_months(self.month, -1)

    @property
    def next_3(self) -> tuple[int, int]:
        return codes.add_months(self.month, 1), codes.add_months(self.month, 3)


@dataclass
class History:
    """A customer's or an agency's gross by broadcast month and, for its AE, by AE."""

    gross: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    trailing_by_ae: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    lifetime_by_ae: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    customers: set[int] = field(default_factory=set)

    def add(self, other: "History") -> None:
        for target, source in ((self.gross, other.gross), (self.trailing_by_ae, other.trailing_by_ae),
                               (self.lifetime_by_ae, other.lifetime_by_ae)):
            for key, amount in source.items():
                target[key] += amount
        self.customers |= other.customers

    def ae(self) -> str:
        """Most gross in the trailing 12 months, else in all months; ties go to the first by name."""
        for by_ae in (self.trailing_by_ae, self.lifetime_by_ae):
            best = max(sorted(by_ae.items()), key=lambda item: _cents(item[1]), default=None)
            if best is not None and _cents(best[1]) > 0:
                return best[0]
        return min(self.lifetime_by_ae, default="UNKNOWN")


@dataclass
class Figures:
    """What a signal row shows, and what the rules read. Money in dollars, rounded to cents."""

    prior: float
    trailing: float
    ahead: float
    lifetime: float
    last_3: float
    next_3: float
    months_booked: int            # of the 24 months up to last month, those with gross > 0
    first_month: int
    last_month: int
    quiet_after: int | None       # gone quiet after this many days without a spot (None: never)
    first_spot: str | None = None     # read from the spots only when the new-account rule needs it
    last_spot: str | None = None      # the last air date on or before today, when gone quiet needs it
    days_quiet: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _cents(amount: float) -> int:
    return round(amount * 100)


def _sum(gross: dict[int, float], first: int, last: int | None = None) -> float:
    return round(float(sum(v for m, v in gross.items() if m >= first and (last is None or m <= last))), 2)


def quiet_after(months_booked: int) -> int | None:
    return next((days for months, days in QUIET if months_booked >= months), None)


def figures_of(history: History, w: Windows) -> Figures:
    """Every figure the summaries can say (first and last spot are filled in later, when needed)."""
    g = history.gross
    first24 = w.prior[0]
    booked = sum(1 for m, v in g.items() if first24 <= m <= w.trailing[1] and _cents(v) > 0)
    return Figures(prior=_sum(g, *w.prior), trailing=_sum(g, *w.trailing), ahead=_sum(g, codes.add_months(w.month, 1)),
                   lifetime=_sum(g, 0), last_3=_sum(g, *w.last_3), next_3=_sum(g, *w.next_3),
                   months_booked=booked, first_month=min(g), last_month=max(g), quiet_after=quiet_after(booked))


def is_churned(f: Figures) -> bool:
    # "trailing + ahead = 0": nothing booked since; a credit alone (a negative amount) is not business.
    return _cents(f.prior) >= BIG and _cents(f.trailing) + _cents(f.ahead) <= 0


def may_be_quiet(f: Figures) -> bool:
    """Gone quiet but for the days without a spot, which only the spots say."""
    return (_cents(f.lifetime) >= BIG and _cents(f.ahead) <= 0 and f.quiet_after is not None
            and not is_churned(f))


def may_be_new(f: Figures, w: Windows) -> bool:
    """New account but for the first air date. A spot's broadcast month is never before its air
    date's calendar month (it may be the next: 28 October can belong to November); one month of
    slack more for a log's mistakes."""
    since = year_before(w.today)
    return _cents(f.lifetime) >= NEW_LIFETIME and f.first_month >= codes.add_months(_month(since.year, since.month), -1)


def signals_of(f: Figures, w: Windows) -> list[str]:
    """The signals these figures give (DOMAIN.md §8), in SIGNALS order."""
    prior, trailing, ahead = _cents(f.prior), _cents(f.trailing), _cents(f.ahead)
    found = []
    if is_churned(f):
        found.append("churned")
    if prior >= BIG and 0 < trailing and 10 * trailing < 7 * prior and 2 * ahead < prior - trailing:
        found.append("declining")
    if may_be_quiet(f) and f.days_quiet is not None and f.days_quiet > f.quiet_after:
        found.append("gone_quiet")
    if (_cents(f.lifetime) >= NEW_LIFETIME and f.first_spot is not None
            and f.first_spot >= year_before(w.today).isoformat()):
        found.append("new_account")
    if trailing >= BIG and 10 * trailing > 13 * prior:
        found.append("growing")
    if _cents(f.last_3) > 0 and 4 * _cents(f.next_3) < _cents(f.last_3):
        found.append("renewal_gap")
    return found


@dataclass(frozen=True)
class Signal:
    object_type: str              # customer | agency
    object_id: int
    signal: str
    ae: str
    figures: Figures


# Reading the database ----------------------------------------------------------------------------

def histories(conn: sqlite3.Connection, w: Windows) -> tuple[dict[int, History], dict[int, History]]:
    """(customer id -> History, agency id -> History) from the summaries. A merged customer has no
    spots left and so no rows; an agency merged into another counts as that one."""
    trailing = w.trailing
    customers: dict[int, History] = {}
    # In the summary's primary-key order (month, customer, AE): SQLite groups it without sorting.
    for month, customer_id, ae, gross in conn.execute(
            "SELECT broadcast_month, customer_id, ae, total(gross) FROM customer_total_summary"
            " GROUP BY broadcast_month, customer_id, ae"):
        h = customers.get(customer_id)
        if h is None:
            h = customers[customer_id] = History(customers={customer_id})
        h.gross[month] += gross
        h.lifetime_by_ae[ae] += gross
        if trailing[0] <= month <= trailing[1]:
            h.trailing_by_ae[ae] += gross
    merged = dict(conn.execute("SELECT id, merged_into FROM agencies WHERE merged_into IS NOT NULL").fetchall())
    agencies: dict[int, History] = {}
    for customer_id, agency_id in conn.execute(
            "SELECT id, agency_id FROM customers WHERE agency_id IS NOT NULL AND merged_into IS NULL"):
        if customer_id not in customers:
            continue
        seen = set()
        while agency_id in merged and agency_id not in seen:   # a chain of merges, never a loop
            seen.add(agency_id)
            agency_id = merged[agency_id]
        agencies.setdefault(agency_id, History()).add(customers[customer_id])
    return customers, agencies


class Spots:
    """First and last air dates of customers, read from the spots once each, by the customer index."""

    def __init__(self, conn: sqlite3.Connection, w: Windows):
        self.conn, self.w = conn, w
        self._first: dict[int, str | None] = {}
        self._last: dict[int, str | None] = {}

    def first(self, customer_id: int) -> str | None:
        """The first air date. Looked for in the customer's first broadcast months (the lifetime
        summary has it), so a big account's years of spots are not read to find it."""
        if customer_id not in self._first:
            row = self.conn.execute("SELECT first_month FROM customer_lifetime_summary WHERE customer_id = ?",
                                    (customer_id,)).fetchone()
            found = None
            if row is not None:
                found = self.conn.execute(
                    "SELECT min(air_date) FROM spots WHERE customer_id = ? AND broadcast_month BETWEEN ? AND ?",
                    (customer_id, row[0], codes.add_months(row[0], 1))).fetchone()[0]
            if found is None:
                found = self.conn.execute(
                    "SELECT min(air_date) FROM spots WHERE customer_id = ?", (customer_id,)).fetchone()[0]
            self._first[customer_id] = found
        return self._first[customer_id]

    def last(self, customer_id: int, last_month: int) -> str | None:
        """The last air date on or before today. Looked for in the customer's latest months first
        (a spot airs within days of its broadcast month), so a big account's years are not read."""
        if customer_id not in self._last:
            today = self.w.today.isoformat()
            upper = min(last_month, codes.add_months(self.w.month, 1))
            found = self.conn.execute(
                "SELECT max(air_date) FROM spots WHERE customer_id = ? AND broadcast_month BETWEEN ? AND ?"
                " AND air_date <= ?", (customer_id, codes.add_months(upper, -2), upper, today)).fetchone()[0]
            if found is None:
                found = self.conn.execute(
                    "SELECT max(air_date) FROM spots WHERE customer_id = ? AND air_date <= ?",
                    (customer_id, today)).fetchone()[0]
            self._last[customer_id] = found
        return self._last[customer_id]


def _complete(f: Figures, history: History, spots: Spots, w: Windows) -> None:
    """Fill in first and last spot where a rule needs them."""
    if may_be_new(f, w):
        firsts = [d for d in (spots.first(c) for c in sorted(history.customers)) if d]
        f.first_spot = min(firsts, default=None)
    if may_be_quiet(f):
        lasts = [d for d in (spots.last(c, f.last_month) for c in sorted(history.customers)) if d]
        f.last_spot = max(lasts, default=None)
        if f.last_spot:
            f.days_quiet = (w.today - dt.date.fromisoformat(f.last_spot)).days


def compute(conn: sqlite3.Connection, today: dt.date) -> list[Signal]:
    """Every signal of every customer and agency as of `today`."""
    w = Windows.of(today)
    spots = Spots(conn, w)
    found = []
    customers, agencies = histories(conn, w)
    for object_type, by_id in (("customer", customers), ("agency", agencies)):
        for object_id, history in sorted(by_id.items()):
            f = figures_of(history, w)
            _complete(f, history, spots, w)
            names = signals_of(f, w)
            if names:
                ae = history.ae()
                found += [Signal(object_type, object_id, name, ae, f) for name in names]
    return found


def after_import(conn: sqlite3.Connection, today: dt.date, batch_id: int) -> None:
    """Replace the signals with today's, in the import's transaction. A signal the object had
    before keeps the import its run began with (what a dismissal holds for)."""
    runs = {(r[0], r[1], r[2]): (r[3], r[4]) for r in conn.execute(
        "SELECT object_type, object_id, signal, since_batch, since FROM account_signals")}
    rows = []
    for s in compute(conn, today):
        since_batch, since = runs.get((s.object_type, s.object_id, s.signal), (batch_id, today.isoformat()))
        rows.append((s.object_type, s.object_id, s.signal, s.ae, json.dumps(s.figures.as_dict(), sort_keys=True),
                     today.isoformat(), since_batch, since))
    conn.execute("DELETE FROM account_signals")
    conn.executemany("INSERT INTO account_signals (object_type, object_id, signal, ae, figures_json, computed_on,"
                     " since_batch, since) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
