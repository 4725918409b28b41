"""What people decide about an account signal (DOMAIN.md §8): snooze it until a day, dismiss it
with a reason, or open it again. The web view and the command both call these functions.

A snoozed signal is hidden until its day and shown again on it. A dismissed one is hidden for as
long as the run of the signal it was dismissed in lasts (account_signals.since_batch): when the
account stops having that signal and has it again, or has a different signal, that is shown. An
import never touches signal_states, so no decision is lost by one.

Each action is one write transaction with its change-log row (object type "signal", the
signal_states row's id). A form carries the state's version and the run it was drawn for; a
stale one is refused with a sentence saying who changed it, and bad input with a sentence naming
the field. Either way nothing changes.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass

from ctvdb import changes, db
from ctvdb.changes import ChangeError
from ctvdb.signals import SIGNALS, WORDS

OBJECT_TYPES = ("customer", "agency")
LONGEST_SNOOZE_DAYS = 366
LONGEST_REASON = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class SignalError(ChangeError):
    """A refused decision about a signal: one sentence for a person; nothing was changed."""


@dataclass(frozen=True)
class Key:
    object_type: str
    object_id: int
    signal: str


@dataclass(frozen=True)
class Current:
    """A signal as the last import computed it, with its name and what people decided about it."""

    key: Key
    name: str
    ae: str
    since_batch: int
    state_id: int | None
    state: str
    version: int                  # 0 when nobody has decided anything about it yet

    @property
    def label(self) -> str:
        return f"{WORDS[self.key.signal]} for {self.name}"


def key(object_type: str, object_id, signal: str) -> Key:
    """The signal a form names, checked: an unknown signal or object is a sentence."""
    if signal not in SIGNALS:
        words = ", ".join(s.replace("_", " ") for s in SIGNALS)
        raise SignalError(f"“{str(signal)[:40]}” is not a signal (the signals are {words}).")
    if object_type not in OBJECT_TYPES:
        raise SignalError("A signal is of a customer or an agency; the form names neither.")
    try:
        return Key(object_type, int(object_id), signal)
    except (TypeError, ValueError):
        raise SignalError(f"The {object_type} “{str(object_id)[:20]}” is not a number.") from None


def current(conn: sqlite3.Connection, k: Key) -> Current | None:
    table = "customers" if k.object_type == "customer" else "agencies"
    row = conn.execute(
        f"SELECT coalesce(o.name, '#' || a.object_id), a.ae, a.since_batch, t.id, coalesce(t.state, 'open'),"
        f" coalesce(t.version, 0) FROM account_signals a LEFT JOIN {table} o ON o.id = a.object_id"
        " LEFT JOIN signal_states t ON t.object_type = a.object_type AND t.object_id = a.object_id"
        "  AND t.signal = a.signal"
        " WHERE a.object_type = ? AND a.object_id = ? AND a.signal = ?",
        (k.object_type, k.object_id, k.signal)).fetchone()
    return Current(k, *row) if row else None


def snooze(conn: sqlite3.Connection, actor: str, k: Key, until: str, today: dt.date, *, version: int | None = None,
           run: int | None = None, ae: str | None = None) -> int:
    """Hide the signal until the day `until` (YYYY-MM-DD, after today, at most a year ahead)."""
    actor, day = _actor(actor), _until(until, today)
    with db.write_transaction(conn):
        signal = _load(conn, k, version, run, ae)
        return _set(conn, actor, signal, "snooze", {"state": "snoozed", "snoozed_until": day, "reason": None,
                                                   "run_batch": None},
                    f"{signal.label} was snoozed until {day}")


def dismiss(conn: sqlite3.Connection, actor: str, k: Key, reason: str, *, version: int | None = None,
            run: int | None = None, ae: str | None = None) -> int:
    """Hide the signal while this run of it lasts, saying why."""
    actor, reason = _actor(actor), _reason(reason)
    with db.write_transaction(conn):
        signal = _load(conn, k, version, run, ae)
        return _set(conn, actor, signal, "dismiss", {"state": "dismissed", "snoozed_until": None, "reason": reason,
                                                    "run_batch": signal.since_batch},
                    f"{signal.label} was dismissed ({reason})")


def reopen(conn: sqlite3.Connection, actor: str, k: Key, *, version: int | None = None,
           ae: str | None = None) -> int:
    """Show a snoozed or dismissed signal again."""
    actor = _actor(actor)
    with db.write_transaction(conn):
        signal = _load(conn, k, version, None, ae)
        if signal.state == "open":
            raise SignalError(f"{signal.label} is not snoozed or dismissed; nothing was changed.")
        return _set(conn, actor, signal, "reopen", {"state": "open", "snoozed_until": None, "reason": None,
                                                   "run_batch": None},
                    f"{signal.label} was shown again")


# Helpers ---------------------------------------------------------------------------------------

def _load(conn, k: Key, version: int | None, run: int | None, ae: str | None) -> Current:
    signal = current(conn, k)
    if signal is None:
        raise SignalError(f"That {k.object_type} has no “{WORDS[k.signal].lower()}” signal any more (the last import"
                          " recomputed the signals); nothing was changed, look again.")
    if ae is not None and signal.ae != ae:
        raise SignalError(f"{signal.label} belongs to {signal.ae}: you can snooze or dismiss only your own AE's"
                          " signals.")
    if signal.state_id is not None:
        changes.check_version(conn, signal.label, signal.state_id, signal.version, version, object_type="signal",
                              error=SignalError)
    elif version not in (None, 0):
        raise SignalError(f"{signal.label} changed after the page was opened; nothing was changed, look again.")
    if run is not None and int(run) != signal.since_batch:
        raise SignalError(f"{signal.label} stopped and began again after the page was opened; nothing was changed,"
                          " look again.")
    return signal


def _set(conn, actor: str, signal: Current, kind: str, columns: dict, summary: str) -> int:
    k, now = signal.key, changes.utc_now()
    before = dict(conn.execute("SELECT state, snoozed_until, reason, run_batch, version FROM signal_states"
                               " WHERE id = ?", (signal.state_id,)).fetchone() or {"state": "open", "version": 0})
    if signal.state_id is None:
        state_id = conn.execute(
            "INSERT INTO signal_states (object_type, object_id, signal, state, snoozed_until, reason, run_batch,"
            " changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (k.object_type, k.object_id, k.signal, columns["state"], columns["snoozed_until"], columns["reason"],
             columns["run_batch"], now, actor)).lastrowid
    else:
        state_id = signal.state_id
        conn.execute("UPDATE signal_states SET state = ?, snoozed_until = ?, reason = ?, run_batch = ?,"
                     " changed_at = ?, changed_by = ?, version = version + 1 WHERE id = ?",
                     (columns["state"], columns["snoozed_until"], columns["reason"], columns["run_batch"], now,
                      actor, state_id))
    after = columns | {"version": before["version"] + 1, "object_type": k.object_type, "object_id": k.object_id,
                       "signal": k.signal}
    return changes.record(conn, actor, kind, state_id, before, after, summary, object_type="signal")


def _until(text: str, today: dt.date) -> str:
    text = (text or "").strip()
    try:
        day = dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        day = None
    if day is None:
        raise SignalError(f"The snooze date “{text[:20]}” is not a date like {today + dt.timedelta(days=7)}.")
    if day <= today:
        raise SignalError(f"The snooze date {day} is not after today ({today}): snooze until a day to come.")
    if (day - today).days > LONGEST_SNOOZE_DAYS:
        raise SignalError(f"The snooze date {day} is more than a year ahead; dismiss the signal instead.")
    return day.isoformat()


def _reason(text: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise SignalError("Say why the signal is dismissed (the reason is empty).")
    if len(reason) > LONGEST_REASON:
        raise SignalError(f"The reason is longer than {LONGEST_REASON} characters.")
    if _CONTROL.search(reason):
        raise SignalError("The reason holds a control character; type it again.")
    return reason


def _actor(actor: str) -> str:
    return changes.actor(actor, SignalError)
