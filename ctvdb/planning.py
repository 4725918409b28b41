"""Budgets and forecasts per AE and broadcast month (DOMAIN.md §8): the writes people make, each
cell's history, and a month's forecasts as they stood on a day.

Every change to a cell is one row of `plan_history` (who, when, old -> new, how: web, paste or
csv), written in the same transaction as the cell. `save` takes the cells one person sends from a
grid, a pasted block or a CSV, and:

- refuses the whole save, with one sentence naming the cell, for bad input: a negative or
  non-numeric amount, an unknown AE (web and paste), a closed month's budget (web and paste);
- refuses only the cells another person changed since the page was drawn (a stale form), naming
  each with who changed it, and saves the others: a lost update is impossible, the rest of a
  person's work is not lost either.

A CSV is the plan as the office keeps it and is loaded as it is: it may name an AE who has no
spot yet and a closed month (the year's budgets often arrive after January has closed).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from ctvdb import changes, codes, db
from ctvdb.changes import PACIFIC, ChangeError

KINDS = ("budget", "forecast")
TABLES = {"budget": "budgets", "forecast": "forecasts"}
HOW = ("web", "paste", "csv")
UNDRAWN = object()      # a cell sent without the value its form was drawn with (paste, CSV)
_AMOUNT = re.compile(r"\$?\s*(?:\d{1,3}(?:,\d{3})+|\d{1,12})(?:\.\d{1,2})?")


class PlanError(ChangeError):
    """Bad input for a budget or forecast: one sentence naming the cell, without its full stop (a
    page adds "; nothing was saved.", a command "; nothing was loaded"). Nothing was saved."""


@dataclass(frozen=True)
class Edit:
    """One cell a person sends: its new amount (None clears it) and, from a grid, the amount the
    page showed when it was drawn (None: no amount)."""

    ae: str
    month: int
    amount: float | None
    drawn: object = UNDRAWN


@dataclass(frozen=True)
class Refused:
    """A cell another person changed since the form was drawn."""

    kind: str
    ae: str
    month: int
    amount: float | None
    changed_by: str | None
    changed_at: str | None

    def sentence(self) -> str:
        now = f"changed to {dollars(self.amount)}" if self.amount is not None else "cleared"
        who = f" by {self.changed_by} at {changes.when(self.changed_at)}" if self.changed_by else ""
        return f"{cell_words(self.kind, self.ae, self.month)} was {now}{who}; reload"


@dataclass(frozen=True)
class Outcome:
    kind: str
    saved: int
    refused: list[Refused]

    def sentence(self) -> str:
        noun = f"{self.kind} cell" + ("" if self.saved == 1 else "s")
        done = f"Saved {self.saved} {noun}" if self.saved else f"No {self.kind} was changed"
        if not self.refused:
            return done + "."
        return f"{done}; not saved: " + "; ".join(r.sentence() for r in self.refused) + "."


def dollars(amount: float) -> str:
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def cell_words(kind: str, ae: str, month: int) -> str:
    """'Forecast for LINDA, Mar-27': how a sentence names a cell."""
    return f"{kind.title()} for {ae}, {codes.month_label(month)}"


def ae_key(name: str) -> str:
    """The AE key spots.ae uses, with inner spaces collapsed as a pasted name may have them."""
    return " ".join((name or "").split()).upper()


def parse_amount(text: str, where: str) -> float | None:
    """'$1,234.50' -> 1234.5; blank -> None. `where` names the cell in the error's sentence."""
    text = (text or "").strip()
    if not text:
        return None
    body = text.lstrip("-−(").rstrip(")").strip()
    if not _AMOUNT.fullmatch(body):
        raise PlanError(f"{where}: “{text[:30]}” is not an amount like 12,500 or $12,500.00")
    if body != text:
        raise PlanError(f"{where}: {text} is negative, and an amount cannot be")
    return round(float(body.replace("$", "").replace(",", "").strip()), 2)


def known_aes(conn: sqlite3.Connection) -> set[str]:
    """The AEs one may plan for: everyone with a spot, a budget or a forecast."""
    # A skip-scan of the spots_ae_month index: one seek per AE instead of reading every spot.
    found = {r[0] for r in conn.execute(
        "WITH RECURSIVE a(ae) AS (SELECT min(ae) FROM spots"
        " UNION ALL SELECT (SELECT min(ae) FROM spots WHERE ae > a.ae) FROM a WHERE a.ae IS NOT NULL)"
        " SELECT ae FROM a WHERE ae IS NOT NULL")}
    return found | {r[0] for r in conn.execute("SELECT ae FROM budgets UNION SELECT ae FROM forecasts")}


def closed_months(conn: sqlite3.Connection, first: int, last: int) -> set[int]:
    return {r[0] for r in conn.execute(
        "SELECT broadcast_month FROM month_closures WHERE broadcast_month BETWEEN ? AND ?", (first, last))}


def last_change_id(conn: sqlite3.Connection) -> int:
    """The newest history row: a pasted block is checked against the cells changed after it."""
    return conn.execute("SELECT coalesce(max(id), 0) FROM plan_history").fetchone()[0]


def save(conn: sqlite3.Connection, actor: str, kind: str, edits: list[Edit], how: str,
         since: int | None = None) -> Outcome:
    """Store `edits` of `kind` in one transaction with their history rows (see `apply`)."""
    with db.write_transaction(conn):
        return apply(conn, actor, kind, edits, how, since)


def apply(conn: sqlite3.Connection, actor: str, kind: str, edits: list[Edit], how: str,
          since: int | None = None) -> Outcome:
    """`save` inside the caller's write transaction (a CSV load records itself in the same one).

    A grid's edit carries the amount it was drawn with: where the stored amount differs, someone
    else saved the cell since, and it is refused. A pasted block carries `since`, the newest
    history row when its page was drawn: a cell with a newer one is refused. An edit that changes
    nothing writes nothing.
    """
    if kind not in KINDS or how not in HOW:
        raise ValueError(f"no such plan kind {kind!r} or way {how!r}")
    actor = changes.actor(actor, PlanError)
    for edit in edits:
        if edit.amount is not None and edit.amount < 0:
            raise PlanError(f"{cell_words(kind, edit.ae, edit.month)}: {dollars(edit.amount)} is negative,"
                            " and an amount cannot be")
    if not edits:
        return Outcome(kind, 0, [])
    table = TABLES[kind]
    people = how != "csv"
    aes = known_aes(conn) if people else set()
    first, last_month = min(e.month for e in edits), max(e.month for e in edits)
    closed = closed_months(conn, first, last_month) if people and kind == "budget" else set()
    stored = {(ae, m): a for ae, m, a in conn.execute(
        f"SELECT ae, broadcast_month, amount FROM {table} WHERE broadcast_month BETWEEN ? AND ?",
        (first, last_month))}
    writes, refused = [], []
    for edit in edits:
        key = (edit.ae, edit.month)
        before = stored.get(key)
        # A grid sends every cell: one left as drawn is no change, whoever changed it since.
        if edit.drawn is not UNDRAWN and _cents(edit.amount) == _cents(edit.drawn):
            continue
        if _cents(edit.amount) == _cents(before):
            continue
        words = cell_words(kind, edit.ae, edit.month)
        if people and edit.ae not in aes:
            raise PlanError(f"{words}: there is no AE “{edit.ae}” in the database")
        if edit.month in closed:
            raise PlanError(f"{words}: {codes.month_label(edit.month)} is closed, so its budget cannot change")
        last = _last_row(conn, kind, edit.ae, edit.month)
        stale = (edit.drawn is not UNDRAWN and _cents(edit.drawn) != _cents(before)) or \
            (since is not None and last is not None and last["id"] > since)
        if stale:
            refused.append(Refused(kind, edit.ae, edit.month, before, last and last["changed_by"],
                                   last and last["changed_at"]))
            continue
        writes.append((edit.ae, edit.month, before, edit.amount))
        stored[key] = edit.amount
    for ae, month, _, after in writes:
        if after is None:
            conn.execute(f"DELETE FROM {table} WHERE ae = ? AND broadcast_month = ?", (ae, month))
        else:
            conn.execute(f"INSERT INTO {table} (ae, broadcast_month, amount) VALUES (?, ?, ?)"
                         " ON CONFLICT (ae, broadcast_month) DO UPDATE SET amount = excluded.amount",
                         (ae, month, after))
    now = changes.utc_now()
    conn.executemany(
        "INSERT INTO plan_history (kind, ae, broadcast_month, old_amount, new_amount, changed_by,"
        " changed_at, how) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(kind, ae, month, before, after, actor, now, how) for ae, month, before, after in writes])
    return Outcome(kind, len(writes), refused)


def _cents(amount) -> int | None:
    """Amounts compared as a page shows them: a budget loaded as 1234.5678 was drawn 1,234.57."""
    return None if amount is None else round(amount * 100)


def _last_row(conn: sqlite3.Connection, kind: str, ae: str, month: int):
    return conn.execute(
        "SELECT id, changed_by, changed_at FROM plan_history WHERE kind = ? AND broadcast_month = ? AND ae = ?"
        " ORDER BY id DESC LIMIT 1", (kind, month, ae)).fetchone()


# A block pasted from Excel ---------------------------------------------------------------------

def parse_paste(text: str, kind: str, year: int) -> list[Edit]:
    """Tab-separated rows, each an AE then the 12 months of `year` (January first), as Excel copies
    a block; a first line of month names is a header. A blank cell leaves that month as it is.
    A line with another number of columns is one sentence naming it, and nothing is saved."""
    edits, seen_data = [], False
    for number, line in enumerate((text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if not seen_data and len(cells) > 1 and _is_heading(cells[1]):
            seen_data = True
            continue
        seen_data = True
        if len(cells) != 13:
            raise PlanError(f"Line {number} of the pasted {kind}s has {len(cells)} column"
                            f"{'' if len(cells) == 1 else 's'}; a line is an AE and then 12 months, tab-separated"
                            " as Excel copies them")
        ae = ae_key(cells[0])
        if not ae:
            raise PlanError(f"Line {number} of the pasted {kind}s names no AE in its first column")
        for month_number, cell in enumerate(cells[1:], 1):
            month = year * 100 + month_number
            amount = parse_amount(cell, f"Line {number}, {cell_words(kind, ae, month)}")
            if amount is not None:
                edits.append(Edit(ae, month, amount))
    if not edits:
        raise PlanError(f"The pasted {kind}s hold no amount")
    return edits


def _is_heading(cell: str) -> bool:
    text = cell.strip().lower()
    return text[:3] in {m.lower() for m in codes.MONTH_ABBR} or bool(re.fullmatch(r"\d{4}-?\d{2}", text))


# History and "as it stood" ---------------------------------------------------------------------

def history(conn: sqlite3.Connection, kind: str, month: int, ae: str | None = None, limit: int = 500) -> list[dict]:
    """The changes to `kind` for `month` (one AE's, or every AE's), newest first."""
    rows = conn.execute(
        "SELECT id, ae, broadcast_month, old_amount, new_amount, changed_by, changed_at, how FROM plan_history"
        " WHERE kind = ? AND broadcast_month = ?" + (" AND ae = ?" if ae else "") + " ORDER BY id DESC LIMIT ?",
        [kind, month] + ([ae] if ae else []) + [limit])
    return [dict(r) for r in rows]


def end_of_day_utc(day: date) -> str:
    """The first moment after `day` in Pacific time, as the ISO UTC text history rows carry."""
    moment = datetime.combine(day + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_of(conn: sqlite3.Connection, kind: str, month: int, day: date, ae: str | None = None) -> dict[str, dict]:
    """{AE: {amount, changed_by, changed_at}}: each AE's `kind` for `month` as it stood at the end
    of `day` (Pacific), the last history row up to then. An AE whose cell was cleared by then, or
    not yet set, is left out."""
    rows = conn.execute(
        "SELECT ae, new_amount, changed_by, changed_at FROM plan_history h"
        " WHERE kind = ? AND broadcast_month = ?" + (" AND ae = ?" if ae else "") +
        " AND id = (SELECT max(id) FROM plan_history x WHERE x.kind = h.kind"
        " AND x.broadcast_month = h.broadcast_month AND x.ae = h.ae AND x.changed_at < ?)",
        [kind, month] + ([ae] if ae else []) + [end_of_day_utc(day)])
    return {r["ae"]: {"amount": r["new_amount"], "changed_by": r["changed_by"], "changed_at": r["changed_at"]}
            for r in rows if r["new_amount"] is not None}
