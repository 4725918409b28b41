"""Agencies as people decide them (DOMAIN.md §7): merge two or more into one, name another
spelling as an alias, rename, and undo.

An agency's customers keep their own names and agency chains (a bill code is as the log spells
it); what changes is the agency they are booked through, `customers.agency_id` (spots keep the
agency the import saw: rewriting a large customer's spots would make a merge slow, and no report
reads it). A merged agency stays as a row pointing at the survivor (`merged_into`), so a later
import books that spelling's customers to the survivor, and an undo can put everything back.
Each action is one write transaction with its change-log row (object type "agency").
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ctvdb import changes, db
from ctvdb.changes import ChangeError

UNDOABLE = ("merge", "alias", "rename")


class AgencyError(ChangeError):
    """A refused change to an agency: one sentence for a person; nothing was changed."""


@dataclass(frozen=True)
class Agency:
    id: int
    name: str
    name_key: str
    merged_into: int | None
    version: int

    @property
    def label(self) -> str:
        return f"{self.name} (agency #{self.id})"


def get(conn: sqlite3.Connection, agency_id: int) -> Agency | None:
    row = conn.execute("SELECT id, name, name_key, merged_into, version FROM agencies WHERE id = ?",
                       (agency_id,)).fetchone()
    return Agency(*row) if row else None


def list_agencies(conn: sqlite3.Connection) -> list[dict]:
    """Every agency not merged away, with its customers, other spellings and all-time gross."""
    return [dict(zip(("id", "name", "customers", "spellings", "gross"), r)) for r in conn.execute(
        "SELECT a.id, a.name,"
        " (SELECT count(*) FROM customers c WHERE c.agency_id = a.id AND c.merged_into IS NULL),"
        " (SELECT group_concat(o.name, ' | ') FROM agencies o WHERE o.merged_into = a.id),"
        " (SELECT round(total(s.gross), 2) FROM customer_total_summary s WHERE s.customer_id IN"
        "   (SELECT c.id FROM customers c WHERE c.agency_id = a.id))"
        " FROM agencies a WHERE a.merged_into IS NULL ORDER BY a.name")]


def merge(conn: sqlite3.Connection, actor: str, survivor_id: int, other_ids,
          expected_versions: dict[int, int] | None = None) -> int:
    """Book the other agencies' customers (and their spots) through the survivor from now on."""
    actor = _actor(actor)
    others = sorted({int(i) for i in other_ids})
    with db.write_transaction(conn):
        survivor = _load(conn, survivor_id, (expected_versions or {}).get(int(survivor_id)))
        if not others:
            raise AgencyError("Choose at least one agency to merge into the one that stays.")
        if survivor.id in others:
            raise AgencyError(f"An agency cannot be merged into itself ({survivor.label}).")
        _usable(conn, survivor)
        merging = [_load(conn, i, (expected_versions or {}).get(i)) for i in others]
        for agency in merging:
            _usable(conn, agency)
        names = ", ".join(a.label for a in merging)
        return _apply(conn, actor, "merge", survivor.id, f"{names} {'was' if len(merging) == 1 else 'were'}"
                      f" merged into {survivor.label}", {a.id: survivor.id for a in merging})


def alias(conn: sqlite3.Connection, actor: str, spelling: str, agency_id: int) -> int:
    """Name another spelling of an agency: a customer booked through it is booked through the agency."""
    actor = _actor(actor)
    name = " ".join((spelling or "").split())
    if not name:
        raise AgencyError("Give the spelling to alias.")
    with db.write_transaction(conn):
        target = _load(conn, agency_id)
        _usable(conn, target)
        row = conn.execute("SELECT id FROM agencies WHERE name_key = ?", (name.lower(),)).fetchone()
        if row and row[0] == target.id:
            raise AgencyError(f"“{name}” is {target.label}’s own name.")
        if row:   # a spelling that is an agency already: aliasing it is merging it
            existing = _load(conn, row[0])
            _usable(conn, existing)
            return _apply(conn, actor, "alias", target.id, f"“{name}” was made an alias of {target.label}",
                          {existing.id: target.id})
        new_id = conn.execute("INSERT INTO agencies (name, name_key, merged_into) VALUES (?, ?, ?)",
                              (name, name.lower(), target.id)).lastrowid
        return _apply(conn, actor, "alias", target.id, f"“{name}” was made an alias of {target.label}",
                      {}, created=new_id)


def rename(conn: sqlite3.Connection, actor: str, agency_id: int, name: str,
           expected_version: int | None = None) -> int:
    actor = _actor(actor)
    name = " ".join((name or "").split())
    if not name:
        raise AgencyError("An agency needs a name.")
    with db.write_transaction(conn):
        agency = _load(conn, agency_id, expected_version)
        _usable(conn, agency)
        if agency.name == name:
            raise AgencyError(f"{agency.label} is called {name} already.")
        taken = conn.execute("SELECT id FROM agencies WHERE lower(name) = lower(?) AND id <> ? AND merged_into IS NULL",
                             (name, agency.id)).fetchone()
        if taken:
            raise AgencyError(f"Another agency is called {name} (agency #{taken[0]}): merge them instead.")
        return _apply(conn, actor, "rename", agency.id, f"{agency.label} was renamed {name}", {}, names={agency.id: name})


def undo(conn: sqlite3.Connection, actor: str, change_id: int) -> int:
    """Put back the agencies and the customers' agency as they were before change `change_id`."""
    actor = _actor(actor)
    with db.write_transaction(conn):
        change = changes.get(conn, change_id)
        if change is None or change.object_type != "agency":
            raise AgencyError(f"There is no agency change {change_id}.")
        if change.kind not in UNDOABLE:
            raise AgencyError(f"Change {change_id} ({change.kind}) cannot be undone.")
        if change.undone_by is not None:
            raise AgencyError(f"Change {change_id} was already undone.")
        for agency_id, version in change.after["versions"].items():
            agency = get(conn, int(agency_id))
            if agency is None or agency.version != version:
                raise AgencyError(f"Change {change_id} cannot be undone: an agency it changed has changed since;"
                                  " undo that first.")
        before = change.before
        for agency_id, state in before["agencies"].items():
            conn.execute("UPDATE agencies SET name = ?, merged_into = ?, version = version + 1 WHERE id = ?",
                         (state["name"], state["merged_into"], int(agency_id)))
        _set_customer_agencies(conn, {int(c): a for c, a in before["customers"].items()})
        created = change.after.get("created")
        if created is not None:
            conn.execute("DELETE FROM agencies WHERE id = ?", (created,))
        return changes.record(conn, actor, "undo", change.object_id, change.after, before,
                              f"Change {change_id} was undone ({change.summary})", object_type="agency",
                              touched=tuple(int(i) for i in before["agencies"]), undoes=change_id)


# What every write shares -----------------------------------------------------------------------

def _apply(conn, actor: str, kind: str, object_id: int, summary: str, merges: dict[int, int],
           names: dict[int, str] | None = None, created: int | None = None) -> int:
    """Point `merges` ({agency: survivor}) and every agency merged into them at the survivor,
    re-book their customers and spots, rename `names`, bump versions, record the change."""
    names = names or {}
    into = dict(merges)
    for agency_id, survivor in merges.items():   # what was merged into a merged agency follows it
        for (child,) in conn.execute("SELECT id FROM agencies WHERE merged_into = ?", (agency_id,)):
            into[child] = survivor
    touched = sorted({object_id, *into, *into.values(), *names} | ({created} if created else set()))
    moving = {r[0]: r[1] for r in conn.execute(
        "SELECT id, agency_id FROM customers WHERE agency_id IN (SELECT value FROM json_each(?))",
        (_json(list(into)),))}
    before = {"agencies": {i: _state(conn, i) for i in touched if i != created}, "customers": moving}
    for agency_id, survivor in into.items():
        conn.execute("UPDATE agencies SET merged_into = ? WHERE id = ?", (survivor, agency_id))
    for agency_id, name in names.items():
        conn.execute("UPDATE agencies SET name = ? WHERE id = ?", (name, agency_id))
    _set_customer_agencies(conn, {c: into[a] for c, a in moving.items()})
    conn.execute("UPDATE agencies SET version = version + 1 WHERE id IN (SELECT value FROM json_each(?))",
                 (_json(touched),))
    after = {"agencies": {i: _state(conn, i) for i in touched}, "customers": {c: into[a] for c, a in moving.items()},
             "versions": {i: get(conn, i).version for i in touched}, "created": created}
    return changes.record(conn, actor, kind, object_id, before, after, summary, object_type="agency",
                          touched=tuple(touched))


def _set_customer_agencies(conn, agency_of: dict[int, int]) -> None:
    """Each customer (and its spots, found by the customer index) booked through its agency."""
    for customer_id, agency_id in agency_of.items():
        conn.execute("UPDATE customers SET agency_id = ?, version = version + 1 WHERE id = ?", (agency_id, customer_id))


def _state(conn, agency_id: int) -> dict:
    agency = get(conn, agency_id)
    return {"name": agency.name, "merged_into": agency.merged_into}


def _load(conn, agency_id, expected_version: int | None = None) -> Agency:
    try:
        agency = get(conn, int(agency_id))
    except (TypeError, ValueError):
        agency = None
    if agency is None:
        raise AgencyError(f"There is no agency {agency_id}.")
    changes.check_version(conn, agency.label, agency.id, agency.version, expected_version, "agency", AgencyError)
    return agency


def _usable(conn, agency: Agency) -> None:
    if agency.merged_into is not None:
        survivor = get(conn, agency.merged_into)
        raise AgencyError(f"{agency.label} was merged into {survivor.label if survivor else 'another agency'}.")


def _actor(actor: str) -> str:
    return changes.actor(actor, AgencyError)


def _json(values) -> str:
    return json.dumps([int(v) for v in values])
