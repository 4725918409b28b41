"""The change log: one row for every edit people make to who a customer is (DOMAIN.md §7).

A write function (ctvdb/customers.py) calls `record` inside its own transaction, so an edit and
its row land together or not at all. `undo` hands a change to the module that made it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")   # times shown to people (DOMAIN.md §4)


class ChangeError(Exception):
    """An edit that was refused; the message is one sentence for a person, and nothing changed."""


@dataclass(frozen=True)
class Change:
    id: int
    changed_at: str
    actor: str
    kind: str
    object_type: str
    object_id: int
    before: dict
    after: dict
    summary: str
    undoes: int | None
    undone_by: int | None

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in self.__dataclass_fields__}


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(iso_utc: str) -> str:
    """'2026-11-24T18:42:00Z' -> '10:42 on Nov 24, 2026' in Pacific time."""
    moment = datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(PACIFIC)
    return f"{moment:%H:%M} on {moment:%b} {moment.day}, {moment.year}"


def actor(actor: str, error: type[ChangeError] = ChangeError) -> str:
    """Who makes a change, as the log records it: an email, lower-cased; one sentence if blank."""
    actor = (actor or "").strip().lower()
    if not actor:
        raise error("Say who makes the change (an email address).")
    return actor


def check_version(conn: sqlite3.Connection, label: str, object_id: int, version: int, expected: int | None,
                  object_type: str = "customer", error: type[ChangeError] = ChangeError) -> None:
    """A form drawn from an older version of the object is refused, saying who changed it since."""
    if expected is not None and version != int(expected):
        last = last_for(conn, object_id, object_type)
        what = said(last) if last else f"{label} was changed"
        raise error(f"{label} changed after the page was opened: {what}; nothing was changed, look again and retry.")


def record(conn: sqlite3.Connection, actor: str, kind: str, object_id: int, before: dict, after: dict,
           summary: str, *, touched: tuple[int, ...] = (), object_type: str = "customer",
           undoes: int | None = None) -> int:
    """Write one change row (in the caller's transaction) and the objects it touched; its id."""
    change_id = conn.execute(
        "INSERT INTO changes (changed_at, actor, kind, object_type, object_id, before_json, after_json,"
        " summary, undoes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (utc_now(), actor, kind, object_type, object_id, json.dumps(before, sort_keys=True),
         json.dumps(after, sort_keys=True), summary, undoes)).lastrowid
    conn.executemany(
        "INSERT OR IGNORE INTO change_objects (object_type, object_id, change_id) VALUES (?, ?, ?)",
        [(object_type, i, change_id) for i in {object_id, *touched}])
    if undoes is not None:
        conn.execute("UPDATE changes SET undone_by = ? WHERE id = ?", (change_id, undoes))
    return change_id


def _change(row) -> Change:
    return Change(row["id"], row["changed_at"], row["actor"], row["kind"], row["object_type"],
                  row["object_id"], json.loads(row["before_json"]), json.loads(row["after_json"]),
                  row["summary"], row["undoes"], row["undone_by"])


def get(conn: sqlite3.Connection, change_id: int) -> Change | None:
    row = conn.execute("SELECT * FROM changes WHERE id = ?", (change_id,)).fetchone()
    return _change(row) if row else None


def list_changes(conn: sqlite3.Connection, object_id: int | None = None, *, object_type: str = "customer",
                 limit: int = 500) -> list[Change]:
    """Newest first; with object_id, the changes that touched that object."""
    if object_id is None:
        rows = conn.execute("SELECT * FROM changes ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            "SELECT c.* FROM change_objects o JOIN changes c ON c.id = o.change_id"
            " WHERE o.object_type = ? AND o.object_id = ? ORDER BY c.id DESC LIMIT ?",
            (object_type, object_id, limit))
    return [_change(r) for r in rows]


def last_for(conn: sqlite3.Connection, object_id: int, object_type: str = "customer") -> Change | None:
    found = list_changes(conn, object_id, object_type=object_type, limit=1)
    return found[0] if found else None


def said(change: Change) -> str:
    """A change as the end of a sentence: 'X was merged into Y by ana@example.com at 10:42 on …'."""
    return f"{change.summary} by {change.actor} at {when(change.changed_at)}"


def undo(conn: sqlite3.Connection, actor: str, change_id: int) -> Change:
    """Take back change `change_id` (a change of its own, recorded); the undo's Change."""
    change = get(conn, change_id)
    if change is None:
        raise ChangeError(f"There is no change {change_id}.")
    if change.object_type == "customer":
        from ctvdb import customers   # customers records its changes here: imported when needed
        return customers.undo(conn, actor, change_id)
    if change.object_type == "agency":
        from ctvdb import agencies
        return agencies.undo(conn, actor, change_id)
    raise ChangeError(f"Change {change_id} ({change.kind} of a {change.object_type}) cannot be undone.")
