"""Who a customer is, as people decide it (DOMAIN.md §7): alias, merge, split, rename, move,
revenue class, deactivate, review, and undo.

The web views and the `ctvdb customers` commands call these functions. Each one checks what it
was asked inside one write transaction (a refusal is one sentence and rolls back, so nothing
changes), then changes the bill-code mapping and the customers, re-points the spots of the bill
codes that moved (closed months too: a month's totals never change, its spots follow identity),
rebuilds the summaries of the customers it touched, and records one change-log row holding the
before and after that `undo` restores.

The invariant everything rests on: a spot's customer is the customer its bill code (lower-cased)
points at in `bill_codes`; a customer's spots carry its agency.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ctvdb import changes, codes, db, names, summaries
from ctvdb.changes import ChangeError

CLASSES = ("regular", "irregular")
UNDOABLE = ("alias", "merge", "split", "move", "rename", "class", "sector", "deactivate")
# The columns a change may set, kept in its before/after so an undo can put them back.
_STATE = ("name", "agency_chain", "agency_id", "active", "reviewed_at", "reviewed_by", "review_reason",
          "revenue_class", "merged_into", "sector_code")


class CustomerError(ChangeError):
    """A refused change to a customer: one sentence for a person; nothing was changed."""


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    agency_chain: str
    agency_id: int | None
    identity_key: str
    sector_code: str | None
    active: int
    reviewed_at: str | None
    reviewed_by: str | None
    review_reason: str | None
    revenue_class: str
    merged_into: int | None
    version: int

    @property
    def label(self) -> str:
        code = f"{self.agency_chain}:{self.name}" if self.agency_chain else self.name
        return f"{code} (#{self.id})"


_COLUMNS = ", ".join(Customer.__dataclass_fields__)


def get(conn: sqlite3.Connection, customer_id: int) -> Customer | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM customers WHERE id = ?", (customer_id,)).fetchone()
    return Customer(*row) if row else None


def bill_codes(conn: sqlite3.Connection, customer_id: int) -> dict[str, str]:
    """{code key: bill code as first seen} of a customer."""
    return dict(conn.execute("SELECT code_key, bill_code FROM bill_codes WHERE customer_id = ? ORDER BY code_key",
                             (customer_id,)).fetchall())


def list_customers(conn: sqlite3.Connection, *, unreviewed: bool = False, merged: bool = False) -> list[dict]:
    """Every customer (without those merged away unless `merged`), with its bill codes, its
    aliases (bill codes a person pointed at it) and its gross over all months; by id."""
    where = ["1 = 1"]
    if unreviewed:
        where.append("c.reviewed_at IS NULL")
    if not merged:
        where.append("c.merged_into IS NULL")
    gross = dict(conn.execute("SELECT customer_id, total(gross) FROM customer_total_summary GROUP BY 1"))
    codes_of: dict[int, list[tuple[str, str]]] = {}
    for key, code, customer_id in conn.execute("SELECT code_key, bill_code, customer_id FROM bill_codes ORDER BY 1"):
        codes_of.setdefault(customer_id, []).append((key, code))
    out = []
    for row in conn.execute(f"SELECT {_COLUMNS} FROM customers c WHERE {' AND '.join(where)} ORDER BY c.id"):
        customer = Customer(*row)
        own = codes_of.get(customer.id, [])
        out.append({**{f: getattr(customer, f) for f in Customer.__dataclass_fields__},
                    "bill_codes": [code for _, code in own],
                    "aliases": [code for key, code in own if key != customer.identity_key],
                    "gross": round(gross.get(customer.id, 0.0), 2)})
    return out


# The writes --------------------------------------------------------------------------------------

def alias(conn, actor: str, bill_code: str, customer_id: int, expected_version: int | None = None) -> int:
    """Point a bill code at a customer: its spots, and those of every later import, go there.
    `expected_version` is that of the customer the bill code belongs to now (the one on the page).
    A customer left with no bill code counts as merged into the new one. The change id."""
    actor = _actor(actor)
    code = codes.normalise_bill_code(bill_code or "")
    with db.write_transaction(conn):
        current = _load(conn, _owner(conn, code), expected_version)
        target = _load(conn, customer_id)
        if target.id == current.id:
            raise CustomerError(f"Bill code “{code}” already belongs to {target.label}.")
        _refuse_cycle(conn, target, current)
        _usable(conn, target)
        updates = _emptied(conn, current, {code.lower()}, target)
        return _apply(conn, actor, "alias", target.id, f"Bill code “{code}” was made an alias of {target.label} "
                      f"(it was {current.label}’s)", {code.lower(): target.id}, updates)


def merge(conn, actor: str, survivor_id: int, other_ids, name: str | None = None,
          expected_versions: dict[int, int] | None = None) -> int:
    """Merge customers into a survivor (optionally renamed): every bill code of theirs becomes an
    alias of the survivor, their spots move to it, and they are marked merged. The change id."""
    actor = _actor(actor)
    expected = {int(k): v for k, v in (expected_versions or {}).items()}
    others = list(dict.fromkeys(int(i) for i in other_ids))
    with db.write_transaction(conn):
        survivor = _load(conn, survivor_id, expected.get(int(survivor_id)))
        if not others:
            raise CustomerError(f"Choose at least one customer to merge into {survivor.label}.")
        if survivor.id in others:
            raise CustomerError(f"A customer cannot be merged into itself ({survivor.label}).")
        merged = [_load(conn, i, expected.get(i)) for i in others]
        _usable(conn, survivor, "merge into")
        for other in merged:
            if other.merged_into is not None:
                raise CustomerError(_merged_sentence(conn, other))
            _refuse_cycle(conn, survivor, other)
        updates: dict[int, dict] = {o.id: {"merged_into": survivor.id} for o in merged}
        if name is not None:
            name = _name(name)
            _refuse_collision(conn, name, survivor.agency_chain, {survivor.id, *others})
            updates[survivor.id] = {"name": name}
        moving = {key: survivor.id for o in merged for key in bill_codes(conn, o.id)}
        summary = (f"{_and(o.label for o in merged)} {'was' if len(merged) == 1 else 'were'} merged into "
                   f"{survivor.label}" + (f", named {name}" if name else ""))
        return _apply(conn, actor, "merge", survivor.id, summary, moving, updates)


def split(conn, actor: str, bill_code: str, customer_id: int | None = None, name: str | None = None,
          expected_version: int | None = None) -> int:
    """Take a bill code off the customer it was wrongly aliased to: to customer `customer_id`, or
    (None) back to the customer the import created for it, brought back from its merge and
    optionally renamed. `expected_version` is the current customer's. The change id."""
    actor = _actor(actor)
    code = codes.normalise_bill_code(bill_code or "")
    key = code.lower()
    with db.write_transaction(conn):
        current = _load(conn, _owner(conn, code), expected_version)
        if current.identity_key == key:
            raise CustomerError(f"“{code}” is {current.label}’s own bill code, not an alias: there is nothing to split.")
        updates: dict[int, dict] = {}
        created = None
        if customer_id is None:
            row = conn.execute("SELECT id FROM customers WHERE identity_key = ?", (key,)).fetchone()
            target = _load(conn, row[0]) if row else _create(conn, code)
            created = None if row else target.id
            updates[target.id] = {"merged_into": None, "reviewed_at": changes.utc_now(), "reviewed_by": actor}
        else:
            target = _load(conn, customer_id)
            if target.id == current.id:
                raise CustomerError(f"Bill code “{code}” already belongs to {target.label}.")
            _refuse_cycle(conn, target, current)
            _usable(conn, target)
        if name is not None:
            name = _name(name)
            _refuse_collision(conn, name, target.agency_chain, {target.id})
            updates.setdefault(target.id, {})["name"] = name
        updates.update(_emptied(conn, current, {key}, target))
        return _apply(conn, actor, "split", current.id, f"Bill code “{code}” was split off {current.label} "
                      f"to {target.label}", {key: target.id}, updates, created=created)


def rename(conn, actor: str, customer_id: int, name: str, expected_version: int | None = None) -> int:
    actor = _actor(actor)
    with db.write_transaction(conn):
        customer = _load(conn, customer_id, expected_version)
        _not_merged(conn, customer)
        name = _name(name)
        if name == customer.name:
            raise CustomerError(f"{customer.label} is already called {name}.")
        _refuse_collision(conn, name, customer.agency_chain, {customer.id})
        return _apply(conn, actor, "rename", customer.id, f"{customer.label} was renamed {name}", {},
                      {customer.id: {"name": name}})


def move(conn, actor: str, customer_id: int, agency_chain: str | None, expected_version: int | None = None) -> int:
    """Move a customer to another agency chain ('A1:A2', booking agency first) or, with None or
    '', to direct. Agencies it names that ctvdb does not know are added. The change id."""
    actor = _actor(actor)
    chain = [" ".join(part.split()) for part in (agency_chain or "").split(":")] if (agency_chain or "").strip() else []
    if any(not part for part in chain):
        raise CustomerError(f"“{agency_chain}” is not an agency chain: no agency name may be empty.")
    with db.write_transaction(conn):
        customer = _load(conn, customer_id, expected_version)
        _not_merged(conn, customer)
        text = ":".join(chain)
        if text.lower() == customer.agency_chain.lower():
            raise CustomerError(f"{customer.label} is already {'with ' + text if text else 'direct'}.")
        _refuse_collision(conn, customer.name, text, {customer.id})
        agency_ids, added = [], []
        for agency in chain:
            row = conn.execute("SELECT id FROM agencies WHERE name_key = ?", (agency.lower(),)).fetchone()
            if row is None:
                added.append(conn.execute("INSERT INTO agencies (name, name_key) VALUES (?, ?)",
                                          (agency, agency.lower())).lastrowid)
            agency_ids.append(row[0] if row else added[-1])
        where = f"to agency {text}" if text else "to direct"
        return _apply(conn, actor, "move", customer.id, f"{customer.label} was moved {where}", {},
                      {customer.id: {"agency_chain": text, "agency_id": agency_ids[0] if chain else None}},
                      new_agencies=tuple(added))


def set_class(conn, actor: str, customer_id: int, revenue_class: str, expected_version: int | None = None) -> int:
    actor = _actor(actor)
    if revenue_class not in CLASSES:
        raise CustomerError(f"“{revenue_class}” is not a revenue class (regular or irregular).")
    with db.write_transaction(conn):
        customer = _load(conn, customer_id, expected_version)
        _not_merged(conn, customer)
        if customer.revenue_class == revenue_class:
            raise CustomerError(f"{customer.label} is already {revenue_class}.")
        return _apply(conn, actor, "class", customer.id, f"{customer.label} was made {revenue_class}", {},
                      {customer.id: {"revenue_class": revenue_class}})


def deactivate(conn, actor: str, customer_id: int, expected_version: int | None = None) -> int:
    return _switch(conn, actor, customer_id, False, expected_version)


def reactivate(conn, actor: str, customer_id: int, expected_version: int | None = None) -> int:
    return _switch(conn, actor, customer_id, True, expected_version)


def mark_reviewed(conn, actor: str, customer_id: int, expected_version: int | None = None) -> int:
    """A person confirmed the customer is a customer of its own: it leaves the resolution queue."""
    actor = _actor(actor)
    with db.write_transaction(conn):
        customer = _load(conn, customer_id, expected_version)
        _not_merged(conn, customer)
        if customer.reviewed_at is not None:
            raise CustomerError(f"{customer.label} was already reviewed by {customer.reviewed_by} "
                                f"at {changes.when(customer.reviewed_at)}.")
        return _apply(conn, actor, "review", customer.id, f"{customer.label} was confirmed as a customer", {},
                      {customer.id: {"reviewed_at": changes.utc_now(), "reviewed_by": actor}})


def postpone(conn, actor: str, customer_id: int) -> None:
    """"Later" in the resolution queue: the customer waits behind the others. Only the queue's
    order changes (no figure, no identity), so no change-log row and no new version."""
    _actor(actor)
    with db.write_transaction(conn):
        customer = _load(conn, customer_id)
        _not_merged(conn, customer)
        conn.execute("UPDATE customers SET review_later_at = ? WHERE id = ?", (changes.utc_now(), customer.id))


def undo(conn, actor: str, change_id: int) -> int:
    """Take back an alias, merge, split, move, rename or class change: every bill-code mapping and
    every figure as before it. Refused when what it changed has changed since. The undo's id."""
    actor = _actor(actor)
    with db.write_transaction(conn):
        change = changes.get(conn, change_id)
        if change is None:
            raise CustomerError(f"There is no change {change_id}.")
        if change.kind not in UNDOABLE:
            raise CustomerError(f"Change {change_id} ({change.kind}) cannot be undone; only "
                                f"{_and(UNDOABLE, 'or')} changes can.")
        if change.undone_by is not None:
            undone = changes.get(conn, change.undone_by)
            raise CustomerError(f"Change {change_id} was already undone by {undone.actor} "
                                f"at {changes.when(undone.changed_at)}.")
        for customer_id, version in change.after["versions"].items():
            customer = get(conn, int(customer_id))
            if customer is None or not _as_left_by(conn, customer, version, change_id):
                raise CustomerError(f"Change {change_id} cannot be undone: since then, "
                                    f"{changes.said(changes.last_for(conn, int(customer_id)))}; undo that first.")
        restore = {int(i): state for i, state in change.before["customers"].items()}
        created = change.after.get("created")
        undo_id = _apply(conn, actor, "undo", change.object_id, f"Change {change_id} was undone ({change.summary})",
                         change.before["codes"], {i: s for i, s in restore.items() if i != created},
                         undoes=change_id, keep=change.after.get("kept_spellings"))
        if created is not None:
            conn.execute("DELETE FROM customers WHERE id = ?", (created,))
        _drop_unused_agencies(conn, change.after.get("new_agencies", []))
        return undo_id


def _as_left_by(conn, customer: Customer, version: int, change_id: int) -> bool:
    """Whether the customer is as change `change_id` left it: still at the version it gave it, or
    moved on only by later changes that were all taken back since (a change undone, or an undo
    of a change after it). Each change bumps the version once, so a version bumped by anything
    else (an agency merge re-pointing the customer) still counts as a change."""
    if customer.version == version:
        return True
    later = conn.execute(
        "SELECT c.undoes, c.undone_by FROM change_objects o JOIN changes c ON c.id = o.change_id "
        "WHERE o.object_type = 'customer' AND o.object_id = ? AND c.id > ?", (customer.id, change_id)).fetchall()
    taken_back = all(undone_by is not None or (undoes is not None and undoes > change_id)
                     for undoes, undone_by in later)
    return taken_back and customer.version == version + len(later)


def reactivate_for_import(conn, customer_id: int, reason: str) -> int:
    """The import found new spots for a deactivated customer: active again and back in the
    resolution queue, saying why. In the import's own transaction."""
    customer = get(conn, customer_id)
    return _apply(conn, "import", "reactivate", customer.id, f"{customer.label} was reactivated: {reason}", {},
                  {customer.id: {"active": 1, "reviewed_at": None, "reviewed_by": None, "review_reason": reason}})


# What every write shares -----------------------------------------------------------------------

def load(conn, customer_id, expected_version: int | None = None) -> Customer:
    """The customer, or one sentence: no such customer, or it changed since the page was opened."""
    return _load(conn, customer_id, expected_version)


def apply_columns(conn, actor: str, kind: str, object_id: int, summary: str, updates: dict[int, dict]) -> int:
    """Set columns of customers that no figure depends on (a sector), with the change-log row and
    versions as every write: for ctvdb/sectors.py, inside its transaction."""
    return _apply(conn, actor, kind, object_id, summary, {}, updates)


def _apply(conn, actor: str, kind: str, object_id: int, summary: str, moves: dict[str, int],
           updates: dict[int, dict], undoes: int | None = None, created: int | None = None,
           new_agencies: tuple[int, ...] = (), keep: dict[str, list[str]] | None = None) -> int:
    """Set customers' columns, point bill codes at customers (and their spots with them), bump
    the version of every customer touched, rebuild their summaries and record the change."""
    moves = {key: int(cid) for key, cid in moves.items()}
    owners = dict(conn.execute("SELECT code_key, customer_id FROM bill_codes WHERE code_key IN "
                               "(SELECT value FROM json_each(?))", (_json(list(moves)),)).fetchall())
    touched = sorted({object_id, *updates, *owners.values(), *moves.values()})
    before = {"codes": {key: owners[key] for key in moves},
              "customers": {i: _state(conn, i) for i in touched if get(conn, i) is not None}}
    for customer_id, columns in updates.items():
        if not columns:
            continue
        conn.execute(f"UPDATE customers SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                     (*columns.values(), customer_id))
    # An undo that leaves spellings where they are moves part of a customer's spots: rebuilt, not folded.
    whole = None if keep else _whole_customers(conn, moves, owners)
    had = _point(conn, moves, owners, keep)
    conn.execute("UPDATE customers SET version = version + 1 WHERE id IN (SELECT value FROM json_each(?))",
                 (_json(touched),))
    # Only spots changing customer change a summary; names, agencies and classes do not.
    if whole:
        summaries.fold_customers(conn, whole)
    elif moves:
        summaries.refresh_customers(conn, touched)
    after = {"codes": moves, "customers": {i: _state(conn, i) for i in touched},
             "versions": {i: get(conn, i).version for i in touched},
             "created": created, "new_agencies": list(new_agencies)}
    if had:
        after["kept_spellings"] = had
    return changes.record(conn, actor, kind, object_id, before, after, summary, touched=tuple(touched),
                          undoes=undoes)


def _whole_customers(conn, moves: dict[str, int], owners: dict[str, int]) -> dict[int, int] | None:
    """{customer: the one it goes to} when `moves` takes every bill code of each customer it
    moves codes from to one other customer (a merge); None otherwise (a split or an alias leaves
    a customer part of its spots, whose summaries must be rebuilt from them)."""
    into: dict[int, set[int]] = {}
    for key, target in moves.items():
        if owners[key] != target:
            into.setdefault(owners[key], set()).add(target)
    if not into or any(len(targets) != 1 or targets & into.keys() for targets in into.values()):
        return None
    for owner in into:
        held = conn.execute("SELECT count(*) FROM bill_codes WHERE customer_id = ?", (owner,)).fetchone()[0]
        if held != sum(1 for key in moves if owners[key] == owner):
            return None
    return {owner: targets.pop() for owner, targets in into.items()}


def _point(conn, moves: dict[str, int], owners: dict[str, int],
           keep: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """bill_codes and the spots follow `moves` ({code key: customer}). The spots are found by
    their customer (an index) and their bill code's spellings, lower-cased here as the import does.

    A customer can hold spots of a code key it does not own: a customer the system ctvdb replaced
    split by letter case ("Admerasia" and "ADMERASIA", ctvdb adopt), whose key went to the other.
    What this returns, {code key: the spellings of it that the customer it moves to had of its
    own}, is what an undo passes back as `keep`: those spellings stay, so the undo hands back
    exactly the spots the change took."""
    keep = keep or {}
    by_owner: dict[int, dict[str, int]] = {}
    for key, target in moves.items():
        if owners[key] != target:
            by_owner.setdefault(owners[key], {})[key] = target
    had: dict[str, list[str]] = {}
    for target in {t for keys in by_owner.values() for t in keys.values()}:
        row = conn.execute("SELECT identity_key FROM customers WHERE id = ?", (target,)).fetchone()
        key = row[0] if row else None
        if key is not None and any(k == key for keys in by_owner.values() for k, t in keys.items() if t == target):
            own = sorted(r[0] for r in conn.execute(
                "SELECT DISTINCT bill_code FROM spots WHERE customer_id = ?", (target,)) if r[0].lower() == key)
            if own:
                had[key] = own
    conn.executemany("UPDATE bill_codes SET customer_id = ? WHERE code_key = ?",
                     [(target, key) for key, target in moves.items()])
    for owner, keys in by_owner.items():
        spellings = [r[0] for r in conn.execute("SELECT DISTINCT bill_code FROM spots WHERE customer_id = ?", (owner,))]
        for target in set(keys.values()):
            moving = [s for s in spellings if keys.get(s.lower()) == target and s not in keep.get(s.lower(), ())]
            if moving:
                conn.execute("UPDATE spots SET customer_id = ? WHERE customer_id = ? AND bill_code IN "
                             "(SELECT value FROM json_each(?))", (target, owner, _json(moving)))
    return had


def _state(conn, customer_id: int) -> dict:
    customer = get(conn, customer_id)
    return {column: getattr(customer, column) for column in _STATE}


def _drop_unused_agencies(conn, agency_ids) -> None:
    # Customers only: a spot carries its customer's agency, so an agency no customer has is on no
    # spot either; asking spots (no index on agency_id) read all 1.5 M of them, a third of an undo.
    for agency_id in agency_ids:
        conn.execute("DELETE FROM agencies WHERE id = ? AND NOT EXISTS (SELECT 1 FROM customers WHERE agency_id = ?)",
                     (agency_id, agency_id))


def _create(conn, code: str) -> Customer:
    """The customer of a bill code whose own customer is gone (only a database edited by hand)."""
    chain, name = codes.split_bill_code(code)
    new_id = conn.execute("INSERT INTO customers (name, agency_chain, identity_key) VALUES (?, ?, ?)",
                          (name, ":".join(chain), code.lower())).lastrowid
    return get(conn, new_id)


def deactivate_many(conn, actor: str, customer_ids, expected_versions: dict[int, int] | None = None) -> int:
    """Deactivate several customers in one change (the stale accounts page): hidden from pick
    lists, never from figures; one undo-able row, or one sentence and nothing changed."""
    actor = _actor(actor)
    ids = sorted({int(i) for i in customer_ids})
    if not ids:
        raise CustomerError("Choose at least one customer to deactivate.")
    with db.write_transaction(conn):
        chosen = [_load(conn, i, (expected_versions or {}).get(i)) for i in ids]
        for customer in chosen:
            _not_merged(conn, customer)
            if not customer.active:
                raise CustomerError(f"{customer.label} is already deactivated.")
        who = chosen[0].label if len(chosen) == 1 else f"{len(chosen)} customers ({_and([c.label for c in chosen[:3]])}" \
            + (", …)" if len(chosen) > 3 else ")")
        return _apply(conn, actor, "deactivate", chosen[0].id, f"{who} {'was' if len(chosen) == 1 else 'were'} deactivated",
                      {}, {c.id: {"active": 0} for c in chosen})


def _switch(conn, actor, customer_id, active: bool, expected_version) -> int:
    actor = _actor(actor)
    with db.write_transaction(conn):
        customer = _load(conn, customer_id, expected_version)
        _not_merged(conn, customer)
        if bool(customer.active) == active:
            raise CustomerError(f"{customer.label} is already {'active' if active else 'deactivated'}.")
        return _apply(conn, actor, "reactivate" if active else "deactivate", customer.id,
                      f"{customer.label} was {'reactivated' if active else 'deactivated'}", {},
                      {customer.id: {"active": int(active)}})


def _emptied(conn, customer: Customer, leaving: set[str], into: Customer) -> dict[int, dict]:
    """A customer whose last bill codes leave counts as merged into where they went."""
    if set(bill_codes(conn, customer.id)) <= leaving:
        return {customer.id: {"merged_into": into.id}}
    return {}


def _load(conn, customer_id, expected_version: int | None = None) -> Customer:
    try:
        customer = get(conn, int(customer_id))
    except (TypeError, ValueError):
        customer = None
    if customer is None:
        raise CustomerError(f"There is no customer {customer_id}.")
    changes.check_version(conn, customer.label, customer.id, customer.version, expected_version,
                          error=CustomerError)
    return customer


def _owner(conn, code: str) -> int:
    row = conn.execute("SELECT customer_id FROM bill_codes WHERE code_key = ?", (code.lower(),)).fetchone()
    if row is None:
        raise CustomerError(f"No spot has ever had bill code “{code}”.")
    return row[0]


def _merged_sentence(conn, customer: Customer) -> str:
    last = changes.last_for(conn, customer.id)
    if last is not None and last.kind in ("merge", "alias", "split"):
        return f"{changes.said(last)}." if "merged" in last.summary else \
            f"{customer.label} was merged into customer {customer.merged_into} ({changes.said(last)})."
    return f"{customer.label} was merged into customer {customer.merged_into}."


def _usable(conn, customer: Customer, doing: str = "point a bill code at") -> None:
    if customer.merged_into is not None:
        raise CustomerError(_merged_sentence(conn, customer))
    if not customer.active:
        raise CustomerError(f"Cannot {doing} {customer.label}: it is deactivated (reactivate it first).")


def _not_merged(conn, customer: Customer) -> None:
    if customer.merged_into is not None:
        raise CustomerError(_merged_sentence(conn, customer))


def _refuse_cycle(conn, target: Customer, source: Customer) -> None:
    """A target merged, through any chain, into the customer the bill codes come from."""
    seen, step = set(), target
    while step is not None and step.merged_into is not None and step.id not in seen:
        seen.add(step.id)
        if step.merged_into == source.id:
            raise CustomerError(f"That would make a cycle: {target.label} was merged into {source.label}.")
        step = get(conn, step.merged_into)


def _refuse_collision(conn, name: str, agency_chain: str, besides: set[int]) -> None:
    folded = names.fold(name)
    for other_id, other_name in conn.execute(
            "SELECT id, name FROM customers WHERE merged_into IS NULL AND agency_chain = ? COLLATE NOCASE",
            (agency_chain,)):
        if other_id not in besides and names.fold(other_name) == folded:
            where = f"with agency {agency_chain}" if agency_chain else "among direct customers"
            raise CustomerError(f"Another customer {where} is already called {other_name} (#{other_id}).")


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise CustomerError("A customer's name cannot be empty.")
    if ":" in name:
        raise CustomerError(f"“{name}” cannot be a customer's name: a colon separates agencies from the customer.")
    return name


def _actor(actor: str) -> str:
    return changes.actor(actor, CustomerError)


def _and(items, word: str = "and") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _json(values) -> str:
    return json.dumps(list(values))
