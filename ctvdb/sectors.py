"""The sector list people edit (DOMAIN.md §7): add a sector, rename it, retire it or bring it back,
and give one customer or many a sector.

Each is one write transaction with its change-log row (object type "sector"; a sector's row id is
its object id). A retired sector keeps its customers and its history; it is only no longer
offered. `ctvdb sectors load FILE.csv` (ctvdb/web/reference.py) stays for bulk loads.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from ctvdb import changes, customers, db
from ctvdb.changes import ChangeError

POLITICAL = "POL"   # its customers are irregular revenue (DOMAIN.md §7)


class SectorError(ChangeError):
    """A refused change to the sector list: one sentence for a person; nothing was changed."""


@dataclass(frozen=True)
class Sector:
    id: int
    code: str
    name: str
    active: int
    customers: int


def list_sectors(conn: sqlite3.Connection, *, retired: bool = True) -> list[Sector]:
    return [Sector(*row) for row in conn.execute(
        "SELECT s.rowid, s.code, s.name, s.active,"
        " (SELECT count(*) FROM customers c WHERE c.sector_code = s.code AND c.merged_into IS NULL)"
        " FROM sectors s" + ("" if retired else " WHERE s.active = 1") + " ORDER BY s.name")]


def get(conn: sqlite3.Connection, code: str) -> Sector | None:
    code = (code or "").strip().upper()
    return next((s for s in list_sectors(conn) if s.code == code), None)


def add(conn: sqlite3.Connection, actor: str, code: str, name: str) -> int:
    code, name, actor = _code(code), _name(name), _actor(actor)
    with db.write_transaction(conn):
        if get(conn, code) is not None:
            raise SectorError(f"There is already a sector with the code {code} ({get(conn, code).name}).")
        _refuse_taken_name(conn, name)
        rowid = conn.execute("INSERT INTO sectors (code, name) VALUES (?, ?)", (code, name)).lastrowid
        return changes.record(conn, actor, "add", rowid, {}, {"code": code, "name": name, "active": 1},
                              f"Sector {name} ({code}) was added", object_type="sector")


def rename(conn: sqlite3.Connection, actor: str, code: str, name: str) -> int:
    name, actor = _name(name), _actor(actor)
    with db.write_transaction(conn):
        sector = _existing(conn, code)
        if sector.name == name:
            raise SectorError(f"Sector {sector.code} is already called {name}.")
        _refuse_taken_name(conn, name, besides=sector.code)
        conn.execute("UPDATE sectors SET name = ? WHERE code = ?", (name, sector.code))
        return changes.record(conn, actor, "rename", sector.id, {"name": sector.name}, {"name": name},
                              f"Sector {sector.name} ({sector.code}) was renamed {name}", object_type="sector")


def retire(conn: sqlite3.Connection, actor: str, code: str) -> int:
    return _switch(conn, actor, code, False)


def restore(conn: sqlite3.Connection, actor: str, code: str) -> int:
    return _switch(conn, actor, code, True)


def assign(conn: sqlite3.Connection, actor: str, customer_ids, code: str | None,
           expected_versions: dict[int, int] | None = None) -> int:
    """Give every customer of `customer_ids` the sector `code` (None: unassigned), in one change.
    A customer put in the Political sector becomes irregular revenue at the same time."""
    actor = _actor(actor)
    ids = sorted({int(i) for i in customer_ids})
    if not ids:
        raise SectorError("Choose at least one customer to give a sector.")
    with db.write_transaction(conn):
        sector = _existing(conn, code) if code else None
        if sector is not None and not sector.active:
            raise SectorError(f"Sector {sector.name} is retired; bring it back before giving it to customers.")
        updates = {}
        for customer_id in ids:
            customer = customers.load(conn, customer_id, (expected_versions or {}).get(customer_id))
            columns = {"sector_code": sector.code if sector else None}
            if sector is not None and sector.code == POLITICAL and customer.revenue_class == "regular":
                columns["revenue_class"] = "irregular"
            if customer.sector_code != columns["sector_code"] or len(columns) > 1:
                updates[customer_id] = columns
        if not updates:
            raise SectorError(f"{'That customer has' if len(ids) == 1 else 'Those customers have'} "
                              f"{'sector ' + sector.name if sector else 'no sector'} already.")
        what = f"sector {sector.name}" if sector else "no sector"
        first = customers.get(conn, next(iter(updates)))
        who = first.label if len(updates) == 1 else f"{len(updates)} customers"
        return customers.apply_columns(conn, actor, "sector", first.id, f"{who} {'was' if len(updates) == 1 else 'were'}"
                                       f" given {what}", updates)


# Helpers ---------------------------------------------------------------------------------------

def _switch(conn, actor: str, code: str, active: bool) -> int:
    actor = _actor(actor)
    with db.write_transaction(conn):
        sector = _existing(conn, code)
        if bool(sector.active) == active:
            raise SectorError(f"Sector {sector.name} is {'in use' if active else 'retired'} already.")
        conn.execute("UPDATE sectors SET active = ? WHERE code = ?", (int(active), sector.code))
        word = "brought back" if active else f"retired (its {sector.customers} customers keep it)"
        return changes.record(conn, actor, "restore" if active else "retire", sector.id,
                              {"active": sector.active}, {"active": int(active)},
                              f"Sector {sector.name} ({sector.code}) was {word}", object_type="sector")


def _existing(conn, code: str) -> Sector:
    sector = get(conn, code)
    if sector is None:
        known = ", ".join(s.code for s in list_sectors(conn))
        raise SectorError(f"There is no sector “{(code or '').strip()}” (the codes are {known}).")
    return sector


def _refuse_taken_name(conn, name: str, besides: str | None = None) -> None:
    for sector in list_sectors(conn):
        if sector.name.casefold() == name.casefold() and sector.code != besides:
            raise SectorError(f"Sector {sector.code} is already called {sector.name}.")


def _code(code: str) -> str:
    code = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,19}", code):
        raise SectorError(f"“{code}” is not a sector code: up to 20 letters, digits or _, starting with a letter.")
    return code


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise SectorError("A sector needs a name.")
    if len(name) > 80:
        raise SectorError("A sector's name is at most 80 characters.")
    return name


def _actor(actor: str) -> str:
    return changes.actor(actor, SectorError)
