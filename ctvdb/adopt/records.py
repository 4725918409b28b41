"""`ctvdb adopt` (issue 17), the human-entered records: what people typed into CTV BookedBiz DB, brought
into ctvdb's own tables, and every record left behind named with its table, id and reason.

    reports = adopt_records(src, dst, ids, auth_path)     # in the core's open transaction

`src` is the read-only source, `dst` the new ctvdb database inside the core's one transaction
(this module never commits it: the core commits, or throws the whole file away), after the
customers, agencies and spots are written with the ids of `ids` (ctvdb/adopt/model.py). The
users go to the sign-in database at `auth_path`, a file the core renames into place only when
the whole adopt succeeds. What comes over, and where:

- sectors -> `sectors` (a source sector of the same name as a ctvdb one is that one: the
  source's POLITICAL is ctvdb's POL); sector assignments -> `customers.sector_code`, the primary
  of `customer_sectors` (or the `customers.sector_id` cache where a customer has no row there).
  ctvdb keeps one sector per customer, so a secondary sector is named as not brought.
- revenue classes (`customers.revenue_class`, migration 026) -> `customers.revenue_class`; a
  source without the column gets ctvdb's rule (a Political customer is irregular).
- budgets: the active version of each year (`budget_versions`/`budget_data`) is ctvdb's budget;
  every version's cells are `plan_history` rows in the order the versions were made (how "csv": a
  version is a loaded file, changed_by who made it), and where a later inactive version left a
  cell at another amount, a last row by "adopt" puts the active version's back, so every cell's
  latest history row is its amount as ctvdb's planning expects; the older
  flat `budget` table is brought for the years without versions. Forecasts (`forecast`) with their
  `forecast_history` -> `forecasts` + `plan_history` (how "web"). An amount for an AE ctvdb does not
  know (no spot, and no user with that AE) is not brought.
- contacts, addresses (`entity_addresses` and the older address columns on the entities),
  billing terms (commission %, PO number, EDI, affidavit, order basis), AE assignments with their
  dates, activities (calls, emails, meetings, notes, status changes as notes), follow-ups (the
  source's activities with a due date, migration 009) and the notes typed on a customer or agency
  itself (as a note on its page) -> the `account_*` tables and `accounts`.
  Each field goes through ctvdb's own checks (accounts.email, phone, commission, day, text);
  a record that fails one is not brought, with ctvdb's sentence as the reason.
- users -> the sign-in database: email, name, role (AE -> ae with the AE of their name), and no
  password (an empty hash no password matches): they set one with `ctvdb users passwd` or sign
  in by the proxy header. A user whose email the target already has keeps the target's row.

The change log gets one row per kind of record ("adopted from CTV BookedBiz DB", actor "adopt",
kind "adopt", which no undo takes back) touching every object written, where ctvdb's own writes
log: sectors, customers' sectors and classes, contacts, addresses, billing terms, assignments,
activities, follow-ups. Budgets and forecasts log in `plan_history` itself, users nowhere (as
`ctvdb users add`).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

from ctvdb import accounts, auth, changes, customers, planning, sectors
from ctvdb.adopt.identity import ADOPTER
from ctvdb.adopt.model import IdMap, KindReport
from ctvdb.adopt.source import columns_of, has_table
from ctvdb.changes import ChangeError

SOURCE = "CTV BookedBiz DB"
NO_PASSWORD = ""            # werkzeug matches no password against it: the user sets one, or uses the proxy
ROLES = {"admin": "admin", "management": "management", "ae": "ae", "viewer": "viewer"}
CONTACT_ROLES = {"decision_maker": "decision_maker", "billing": "billing", "other": "other",
                 "account_manager": "other", "technical": "other", "creative": "creative"}
ADDRESS_KINDS = {"billing": "billing", "shipping": "mailing", "po box": "mailing", "office": "mailing",
                 "other": "mailing", "mailing": "mailing"}
ACTIVITY_KINDS = {"call": "call", "email": "email", "meeting": "meeting", "note": "note", "status_change": "note"}


def adopt_records(src: sqlite3.Connection, dst: sqlite3.Connection, ids: IdMap,
                  auth_path: Path | None) -> list[KindReport]:
    """Bring every human-entered record of `src` into `dst` (and the users into `auth_path`);
    one KindReport per kind, in the order the reconciliation prints them."""
    run = _Records(src, dst, ids)
    reports = [run.sectors(), run.sector_assignments(), run.revenue_classes()]
    reports.append(run.users(auth_path))           # first: a user's AE is an AE ctvdb knows
    reports.extend(run.budgets())
    reports.extend(run.forecasts())
    reports.append(run.contacts())
    reports.append(run.addresses())
    reports.append(run.terms())
    reports.append(run.assignments())
    reports.append(run.activities())
    reports.append(run.follow_ups())
    reports.append(run.account_notes())
    return reports


class _Records:
    def __init__(self, src: sqlite3.Connection, dst: sqlite3.Connection, ids: IdMap):
        self.src, self.dst, self.ids = src, dst, ids
        self.now = changes.utc_now()
        self.sector_code: dict[int, str] = {}          # source sector_id -> ctvdb code
        self.contact_id: dict[int, int] = {}           # source contact_id -> ctvdb contact id
        self.user_aes: set[str] = set()
        self._aes: set[str] | None = None
        self._source_ids = {
            "customer": self._ids("customers", "customer_id"),
            "agency": self._ids("agencies", "agency_id"),
        }

    # -- reading the source ---------------------------------------------------------------

    def _ids(self, table: str, column: str) -> set[int]:
        if not has_table(self.src, table):
            return set()
        return {r[0] for r in self.src.execute(f"SELECT {column} FROM {table}")}

    def rows(self, table: str, wanted: tuple[str, ...], order: str) -> list[dict]:
        """`wanted` columns of `table` as dicts (a column an older source lacks reads None)."""
        if not has_table(self.src, table):
            return []
        have = columns_of(self.src, table)
        picked = [c for c in wanted if c in have]
        found = self.src.execute(f"SELECT {', '.join(picked)} FROM {table} ORDER BY {order}")
        return [{**dict.fromkeys(wanted), **dict(zip(picked, r))} for r in found]

    def account(self, entity_type, entity_id) -> tuple[accounts.Ref | None, str]:
        """The ctvdb account of a source entity, or None and the reason it has none."""
        kind = str(entity_type or "").strip().lower()
        if kind not in accounts.TYPES:
            return None, f"“{entity_type}” is neither a customer nor an agency"
        ctvdb_id = (self.ids.customer if kind == "customer" else self.ids.agency).get(entity_id)
        if ctvdb_id is None:
            if entity_id not in self._source_ids[kind]:
                return None, f"its {kind} {entity_id} does not exist in the source"
            return None, f"its {kind} {entity_id} was not brought over"
        return accounts.Ref(kind, ctvdb_id), ""

    def known_aes(self) -> set[str]:
        """The AEs ctvdb knows: of the spots, of the target's plans and of the users (accounts.known_aes)."""
        if self._aes is None:
            self._aes = planning.known_aes(self.dst) | set(self.ids.ae_names) | self.user_aes
        return self._aes

    def log(self, object_type: str, touched, what: str, after: dict | None = None) -> None:
        """One change row for a kind of record, touching each object written."""
        touched = tuple(sorted(set(touched)))
        if touched:
            changes.record(self.dst, ADOPTER, "adopt", 0, {}, after or {"count": len(touched)},
                           f"{what} adopted from {SOURCE}", touched=touched, object_type=object_type)

    # -- sectors, classes -----------------------------------------------------------------

    def sectors(self) -> KindReport:
        rows = self.rows("sectors", ("sector_id", "sector_code", "sector_name", "is_active"), "sector_id")
        by_name = {name.casefold(): code for code, name in self.dst.execute("SELECT code, name FROM sectors")}
        taken = set(by_name.values())
        left, written = [], []
        for row in rows:
            try:
                name = sectors._name(row["sector_name"])
            except ChangeError as exc:
                left.append(("sectors", row["sector_id"], str(exc)))
                continue
            code = by_name.get(name.casefold())
            if code is None:
                code = _sector_code(row["sector_code"], row["sector_id"], taken)
                self.dst.execute("INSERT INTO sectors (code, name, active) VALUES (?, ?, ?)",
                                 (code, name, 0 if row["is_active"] in (0, "0") else 1))
                by_name[name.casefold()] = code
                taken.add(code)
                written.append(self.dst.execute("SELECT rowid FROM sectors WHERE code = ?", (code,)).fetchone()[0])
            self.sector_code[row["sector_id"]] = code
        self.log("sector", written, f"{len(written)} sectors",
                 {"sectors": {str(k): v for k, v in self.sector_code.items()}})
        return KindReport("sectors", len(rows), len(rows) - len(left), left)

    def sector_assignments(self) -> KindReport:
        links = self.rows("customer_sectors", ("customer_sector_id", "customer_id", "sector_id", "is_primary",
                                               "assigned_date"), "customer_id, is_primary DESC, assigned_date DESC,"
                                                                 " customer_sector_id DESC")
        linked = {r["customer_id"] for r in links}
        cached = [r for r in self.rows("customers", ("customer_id", "sector_id"), "customer_id")
                  if r["sector_id"] is not None and r["customer_id"] not in linked]
        chosen: dict[int, tuple[str, int, object]] = {}   # source customer -> (table, id, sector)
        left = []
        for row in links:
            first = chosen.get(row["customer_id"])
            if first is None:
                chosen[row["customer_id"]] = ("customer_sectors", row["customer_sector_id"], row["sector_id"])
            else:
                primary = self.sector_code.get(first[2], f"sector {first[2]}")
                left.append(("customer_sectors", row["customer_sector_id"],
                             f"ctvdb keeps one sector per customer; customer {row['customer_id']}'s primary sector, "
                             f"{primary}, was brought"))
        for row in cached:
            chosen[row["customer_id"]] = ("customers", row["customer_id"], row["sector_id"])
        given: dict[int, tuple[str, int]] = {}             # ctvdb customer -> (code, source customer)
        for source_id in sorted(chosen, key=lambda s: (self.ids.customer.get(s) != s, s)):   # a survivor's own first
            table, row_id, sector_id = chosen[source_id]
            ref, why = self.account("customer", source_id)
            code = self.sector_code.get(sector_id)
            if ref is None:
                left.append((table, row_id, why))
            elif code is None:
                left.append((table, row_id, f"its sector {sector_id} does not exist in the source"
                             if sector_id not in self._ids("sectors", "sector_id") else
                             f"its sector {sector_id} was not brought over"))
            elif ref.id in given and given[ref.id][0] != code:
                left.append((table, row_id, f"customer {source_id} was merged into customer {ref.id}, which has "
                                            f"sector {given[ref.id][0]} from customer {given[ref.id][1]}"))
            else:
                given.setdefault(ref.id, (code, source_id))
        self.dst.executemany("UPDATE customers SET sector_code = ? WHERE id = ?",
                             [(code, customer_id) for customer_id, (code, _) in given.items()])
        self.log("customer", given, f"The sectors of {len(given)} customers",
                 {"sectors": {str(k): v[0] for k, v in given.items()}})
        return KindReport("sector assignments", len(links) + len(cached), len(links) + len(cached) - len(left), left)

    def revenue_classes(self) -> KindReport:
        if "revenue_class" not in columns_of(self.src, "customers"):
            # An older source: ctvdb's own rule, a Political customer is irregular revenue.
            self.dst.execute("UPDATE customers SET revenue_class = 'irregular' WHERE sector_code = ?",
                             (sectors.POLITICAL,))
            return KindReport("revenue classes", 0, 0)
        rows = self.rows("customers", ("customer_id", "revenue_class"), "customer_id")
        rows = [r for r in rows if r["revenue_class"] is not None]
        left, given = [], {}
        for row in sorted(rows, key=lambda r: (self.ids.customer.get(r["customer_id"]) != r["customer_id"],
                                               r["customer_id"])):
            value = str(row["revenue_class"]).strip().lower()
            ref, why = self.account("customer", row["customer_id"])
            if ref is None:
                left.append(("customers", row["customer_id"], why))
            elif value not in customers.CLASSES:
                left.append(("customers", row["customer_id"], f"“{row['revenue_class']}” is not a revenue class "
                                                              "(regular or irregular)"))
            elif ref.id in given and given[ref.id][0] != value:
                left.append(("customers", row["customer_id"],
                             f"customer {row['customer_id']} was merged into customer {ref.id}, which is "
                             f"{given[ref.id][0]} revenue as customer {given[ref.id][1]} was"))
            else:
                given.setdefault(ref.id, (value, row["customer_id"]))
        self.dst.executemany("UPDATE customers SET revenue_class = ? WHERE id = ?",
                             [(value, customer_id) for customer_id, (value, _) in given.items()])
        irregular = [c for c, (v, _) in given.items() if v == "irregular"]
        self.log("customer", irregular, f"The irregular revenue class of {len(irregular)} customers")
        return KindReport("revenue classes", len(rows), len(rows) - len(left), left)

    # -- budgets and forecasts ------------------------------------------------------------

    def _cell(self, table: str, row_id, ae_name, year, month, amount) -> tuple[tuple[str, int] | None, float | None, str]:
        """((AE key, month), amount) of a source cell, or the reason it is not brought."""
        ae = planning.ae_key(str(ae_name or ""))
        try:
            year, month = int(year), int(month)
        except (TypeError, ValueError):
            return None, None, f"“{year}-{month}” is not a year and a month"
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            return None, None, f"{year}-{month} is not a year and a month"
        key = (ae, year * 100 + month)
        if not ae:
            return None, None, "it names no AE"
        if ae not in self.known_aes():
            return None, None, f"ctvdb knows no AE “{ae}” (no spot and no user has that sales person)"
        try:
            value = round(float(amount), 2)
        except (TypeError, ValueError):
            return None, None, f"“{amount}” is not an amount"
        if value < 0:
            return None, None, f"{planning.dollars(value)} is negative, and an amount cannot be"
        return key, value, ""

    def _write_plan(self, kind: str, steps: dict, final: dict, how: str) -> None:
        """Each cell's steps [(amount, at, by)] as plan_history rows, ending at `final`'s amount."""
        history = []
        for key in sorted(set(steps) | set(final)):
            before = None
            for amount, at, by in steps.get(key, []):
                if amount != before:
                    history.append((kind, key[0], key[1], before, amount, by, at, how))
                    before = amount
            if final.get(key) != before:
                history.append((kind, key[0], key[1], before, final.get(key), ADOPTER, self.now, how))
        self.dst.executemany(
            "INSERT INTO plan_history (kind, ae, broadcast_month, old_amount, new_amount, changed_by, changed_at, how)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", history)
        self.dst.executemany(f"INSERT INTO {planning.TABLES[kind]} (ae, broadcast_month, amount) VALUES (?, ?, ?)",
                             [(ae, month, amount) for (ae, month), amount in final.items() if amount is not None])

    def budgets(self) -> list[KindReport]:
        versions = self.rows("budget_versions", ("version_id", "version_name", "year", "created_date", "created_by",
                                                 "is_active"), "year, created_date, version_id")
        cells = self.rows("budget_data", ("budget_data_id", "version_id", "ae_name", "year", "month",
                                          "budget_amount"), "budget_data_id")
        flat = self.rows("budget", ("budget_id", "ae_name", "year", "month", "budget_amount", "updated_date"),
                         "budget_id")
        by_id = {v["version_id"]: v for v in versions}
        active: dict[int, dict] = {}
        for v in versions:        # the active version of a year; of several, the newest
            if v["is_active"] not in (0, "0", None):
                active[v["year"]] = v
        order = {v["version_id"]: (v["created_date"] or "", v["version_id"]) for v in versions}
        steps: dict[tuple[str, int], list] = defaultdict(list)
        final: dict[tuple[str, int], float] = {}
        left = []
        for row in sorted(cells, key=lambda c: (order.get(c["version_id"], ("", 0)), c["budget_data_id"])):
            version = by_id.get(row["version_id"])
            if version is None:
                left.append(("budget_data", row["budget_data_id"], f"its version {row['version_id']} does not exist"))
                continue
            key, amount, why = self._cell("budget_data", row["budget_data_id"], row["ae_name"], row["year"],
                                          row["month"], row["budget_amount"])
            if key is None:
                left.append(("budget_data", row["budget_data_id"], why))
                continue
            steps[key].append((amount, _stamp(version["created_date"]) or self.now,
                               _who(version["created_by"])))
            if version is active.get(version["year"]):
                final[key] = amount
        versioned_years = {v["year"] for v in versions}
        for row in flat:
            if row["year"] in versioned_years:
                name = active[row["year"]]["version_name"] if row["year"] in active else None
                left.append(("budget", row["budget_id"], f"{row['year']} has budget versions in budget_versions"
                             + (f"; the active one, “{name}”, is the budget" if name else
                                ", none of them active")))
                continue
            key, amount, why = self._cell("budget", row["budget_id"], row["ae_name"], row["year"], row["month"],
                                          row["budget_amount"])
            if key is None:
                left.append(("budget", row["budget_id"], why))
                continue
            steps[key].append((amount, _stamp(row["updated_date"]) or self.now, ADOPTER))
            final[key] = amount
        self._write_plan("budget", steps, final, "csv")
        total = len(cells) + len(flat)
        return [KindReport("budget versions", len(versions), len(versions)),
                KindReport("budget cells", total, total - len(left), left)]

    def forecasts(self) -> list[KindReport]:
        current = self.rows("forecast", ("forecast_id", "ae_name", "year", "month", "forecast_amount",
                                         "updated_date", "updated_by"), "forecast_id")
        history = self.rows("forecast_history", ("history_id", "ae_name", "year", "month", "new_amount",
                                                 "changed_date", "changed_by"), "changed_date, history_id")
        steps: dict[tuple[str, int], list] = defaultdict(list)
        final: dict[tuple[str, int], float] = {}
        left_history, left = [], []
        for row in history:
            key, amount, why = self._cell("forecast_history", row["history_id"], row["ae_name"], row["year"],
                                          row["month"], row["new_amount"])
            if key is None:
                left_history.append(("forecast_history", row["history_id"], why))
                continue
            steps[key].append((amount, _stamp(row["changed_date"]) or self.now, _who(row["changed_by"])))
        for row in current:
            key, amount, why = self._cell("forecast", row["forecast_id"], row["ae_name"], row["year"],
                                          row["month"], row["forecast_amount"])
            if key is None:
                left.append(("forecast", row["forecast_id"], why))
                continue
            final[key] = amount
            last = steps[key][-1][0] if steps.get(key) else None
            if last != amount:   # set without a history row: its own row, when and by whom the source says
                steps[key].append((amount, _stamp(row["updated_date"]) or self.now, _who(row["updated_by"])))
        self._write_plan("forecast", steps, final, "web")
        return [KindReport("forecast cells", len(current), len(current) - len(left), left),
                KindReport("forecast history", len(history), len(history) - len(left_history), left_history)]

    # -- accounts -------------------------------------------------------------------------

    def contacts(self) -> KindReport:
        rows = self.rows("entity_contacts", ("contact_id", "entity_type", "entity_id", "contact_name", "contact_title",
                                             "email", "phone", "is_primary", "is_active", "created_by", "created_date",
                                             "updated_date", "notes", "contact_role"), "contact_id")
        left, written, primary = [], [], {}
        for row in rows:
            ref, why = self.account(row["entity_type"], row["entity_id"])
            if ref is None:
                left.append(("entity_contacts", row["contact_id"], why))
                continue
            role = str(row["contact_role"] or "other").strip().lower().replace(" ", "_")
            notes = str(row["notes"] or "").strip()
            if role not in CONTACT_ROLES:
                left.append(("entity_contacts", row["contact_id"], f"“{row['contact_role']}” is not a contact role"))
                continue
            if CONTACT_ROLES[role] != role:
                notes = "\n".join(filter(None, [f"Role in {SOURCE}: {role.replace('_', ' ')}.", notes]))
            try:
                fields = accounts.contact_values({"name": row["contact_name"], "title": row["contact_title"],
                                                  "role": CONTACT_ROLES[role], "email": row["email"],
                                                  "phone": row["phone"], "notes": notes, "is_primary": 0})
            except ChangeError as exc:
                left.append(("entity_contacts", row["contact_id"], str(exc)))
                continue
            removed = row["is_active"] in (0, "0")
            contact_id = self.dst.execute(
                "INSERT INTO account_contacts (account_type, account_id, name, title, role, email, phone, notes,"
                " is_primary, created_at, created_by, removed_at, removed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?,"
                " ?, ?)", (ref.type, ref.id, fields["name"], fields["title"], fields["role"], fields["email"],
                           fields["phone"], fields["notes"], _stamp(row["created_date"]) or self.now,
                           _who(row["created_by"]), (_stamp(row["updated_date"]) or self.now) if removed else None,
                           ADOPTER if removed else None)).lastrowid
            self.contact_id[row["contact_id"]] = contact_id
            written.append(contact_id)
            if row["is_primary"] not in (0, "0", None) and not removed:
                primary[(ref.type, ref.id)] = contact_id     # the newest, as the source's trigger keeps it
        self.dst.executemany("UPDATE account_contacts SET is_primary = 1 WHERE id = ?", [(c,) for c in primary.values()])
        self.log("contact", written, f"{len(written)} contacts")
        return KindReport("contacts", len(rows), len(rows) - len(left), left)

    def addresses(self) -> KindReport:
        rows = self.rows("entity_addresses", ("address_id", "entity_type", "entity_id", "address_label", "address",
                                              "city", "state", "zip", "is_active", "updated_date"), "address_id")
        own = []   # migration 001's address columns on the entities themselves
        for kind, table, key in (("customer", "customers", "customer_id"), ("agency", "agencies", "agency_id")):
            for r in self.rows(table, (key, "address", "city", "state", "zip"), key):
                if any(str(r[c] or "").strip() for c in ("address", "city", "state", "zip")):
                    own.append({"table": table, "id": r[key], "entity_type": kind, "entity_id": r[key],
                                "address_label": "Billing", "is_active": 1, **{c: r[c] for c in
                                                                              ("address", "city", "state", "zip")}})
        left, written, seen = [], [], set()
        for row in [dict(r, table="entity_addresses", id=r["address_id"]) for r in rows] + own:
            ref, why = self.account(row["entity_type"], row["entity_id"])
            if ref is None:
                left.append((row["table"], row["id"], why))
                continue
            kind = ADDRESS_KINDS.get(str(row["address_label"] or "").strip().lower())
            if kind is None:
                left.append((row["table"], row["id"], f"“{row['address_label']}” is not an address label"))
                continue
            try:
                fields = accounts.address_values({"kind": kind, "line1": row["address"], "city": row["city"],
                                                  "region": row["state"], "postal_code": row["zip"]})
            except ChangeError as exc:
                left.append((row["table"], row["id"], str(exc)))
                continue
            same = (ref, fields["line1"].casefold(), fields["city"].casefold(), fields["region"].casefold(),
                    fields["postal_code"].casefold())
            if row["table"] != "entity_addresses" and same in seen:
                left.append((row["table"], row["id"], "the same address is in its entity_addresses already"))
                continue
            if not any(fields[f] for f in ("line1", "city", "region", "postal_code")):
                left.append((row["table"], row["id"], "it has no line, city, state or zip"))
                continue
            seen.add(same)
            removed = row["is_active"] in (0, "0")
            written.append(self.dst.execute(
                "INSERT INTO account_addresses (account_type, account_id, kind, line1, city, region, postal_code,"
                " removed_at, removed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ref.type, ref.id, fields["kind"], fields["line1"], fields["city"], fields["region"],
                 fields["postal_code"], (_stamp(row.get("updated_date")) or self.now) if removed else None,
                 ADOPTER if removed else None)).lastrowid)
        self.log("address", written, f"{len(written)} addresses")
        total = len(rows) + len(own)
        return KindReport("addresses", total, total - len(left), left)

    def terms(self) -> KindReport:
        """Billing terms: commission %, PO number (PO required, the number in the invoice notes), EDI
        code and billing, affidavit required, order rate basis (in the invoice notes)."""
        wanted = ("commission_rate", "po_number", "edi_billing", "edi_code", "affidavit_required", "order_rate_basis")
        found = []
        for kind, table, key in (("customer", "customers", "customer_id"), ("agency", "agencies", "agency_id")):
            for r in self.rows(table, (key, *wanted), key):
                r = {**r, "id": r[key], "table": table, "kind": kind}
                if r["commission_rate"] is not None or any(str(r[c] or "").strip() not in ("", "0")
                                                           for c in wanted if c != "commission_rate"):
                    found.append(r)
        left, touched = [], defaultdict(list)
        for r in found:
            ref, why = self.account(r["kind"], r["id"])
            if ref is None:
                left.append((r["table"], r["id"], why))
                continue
            po = str(r["po_number"] or "").strip()
            notes = [f"PO number: {po}" if po else "",
                     "EDI billing" if _yes(r["edi_billing"]) and not str(r["edi_code"] or "").strip() else "",
                     f"Orders arrive {str(r['order_rate_basis']).strip().lower()}" if r["order_rate_basis"] else ""]
            try:
                fields = accounts.terms_values({"commission_pct": r["commission_rate"], "po_required": int(bool(po)),
                                                "edi_code": r["edi_code"], "affidavit_required": int(_yes(
                                                    r["affidavit_required"])),
                                                "invoice_notes": "\n".join(n for n in notes if n)})
            except ChangeError as exc:
                left.append((r["table"], r["id"], str(exc)))
                continue
            if ref.id != r["id"] and self._has_terms(ref):
                left.append((r["table"], r["id"], f"{r['kind']} {r['id']} was merged into {r['kind']} {ref.id}, "
                                                  "whose own billing terms were brought"))
                continue
            self.dst.execute(
                "INSERT INTO accounts (account_type, account_id, po_required, edi_code, commission_pct,"
                " affidavit_required, invoice_notes) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (account_type, account_id) DO NOTHING",
                (ref.type, ref.id, fields["po_required"], fields["edi_code"], fields["commission_pct"],
                 fields["affidavit_required"], fields["invoice_notes"]))
            touched[ref.type].append(ref.id)
        for kind, written in touched.items():
            self.log(f"{kind}_account", written, f"The billing terms of {len(written)} {kind} accounts")
        return KindReport("billing terms", len(found), len(found) - len(left), left)

    def _has_terms(self, ref: accounts.Ref) -> bool:
        return self.dst.execute("SELECT 1 FROM accounts WHERE account_type = ? AND account_id = ?",
                                (ref.type, ref.id)).fetchone() is not None

    def assignments(self) -> KindReport:
        """AE assignments with their dates (ae_assignments, 007), and the assigned_ae columns (004)
        of entities with no open assignment there. ctvdb's effective_to is the last day: an
        assignment the source ended on a day ends the day before (the next one starts that day)."""
        rows = self.rows("ae_assignments", ("assignment_id", "entity_type", "entity_id", "ae_name", "assigned_date",
                                            "ended_date", "created_by"), "assignment_id")
        open_ = {(str(r["entity_type"]).lower(), r["entity_id"]) for r in rows if r["ended_date"] is None}
        for kind, table, key in (("customer", "customers", "customer_id"), ("agency", "agencies", "agency_id")):
            for r in self.rows(table, (key, "assigned_ae", "created_date"), key):
                if str(r["assigned_ae"] or "").strip() and (kind, r[key]) not in open_:
                    rows.append({"table": table, "assignment_id": r[key], "entity_type": kind, "entity_id": r[key],
                                 "ae_name": r["assigned_ae"], "assigned_date": r["created_date"] or self.now[:10],
                                 "ended_date": None, "created_by": ADOPTER})
        left, spans = [], defaultdict(list)
        for row in rows:
            table = row.get("table", "ae_assignments")
            ref, why = self.account(row["entity_type"], row["entity_id"])
            if ref is None:
                left.append((table, row["assignment_id"], why))
                continue
            try:
                ae = accounts.ae(self.dst, row["ae_name"], self.known_aes())
                start = accounts.day(str(row["assigned_date"] or "")[:10], "effective_from")
                end = accounts.day(str(row["ended_date"])[:10], "effective_from") if row["ended_date"] else None
            except ChangeError as exc:
                left.append((table, row["assignment_id"], str(exc)))
                continue
            spans[ref].append([start, end, ae, _who(row["created_by"]), table, row["assignment_id"]])
        written = defaultdict(list)
        for ref, found in spans.items():
            found.sort(key=lambda s: (s[0], s[1] is None, s[1] or ""))
            kept = []
            for span in found:
                if span[1] is not None:   # ended that day: the last day is the one before
                    span[1] = _before(span[1])
                    if span[1] < span[0]:
                        left.append((span[4], span[5], f"it began and ended on {span[0]}, so it never owned the "
                                                       "account for a whole day"))
                        continue
                if kept and (kept[-1][1] is None or kept[-1][1] >= span[0]):
                    if kept[-1][0] >= span[0]:
                        dropped = kept.pop()
                        left.append((dropped[4], dropped[5], f"another assignment of the account starts the same day "
                                                             f"({span[0]}, to {span[2]})"))
                    else:
                        kept[-1][1] = _before(span[0])
                kept.append(span)
            for start, end, ae, by, _, _ in kept:
                self.dst.execute(
                    "INSERT INTO account_assignments (account_type, account_id, ae, effective_from, effective_to,"
                    " assigned_by, assigned_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (ref.type, ref.id, ae, start, end, by, self.now))
                written[ref.type].append(ref.id)
        for kind, ids in written.items():
            self.log(f"{kind}_account", ids, f"The AE assignments of {len(set(ids))} {kind} accounts")
        return KindReport("AE assignments", len(rows), len(rows) - len(left), left)

    def _activity_rows(self, follow_ups: bool) -> list[dict]:
        rows = self.rows("entity_activity", ("activity_id", "entity_type", "entity_id", "activity_type",
                                             "activity_date", "description", "created_by", "created_date",
                                             "contact_id", "due_date", "is_completed", "completed_date"), "activity_id")
        return [r for r in rows if (str(r["activity_type"]).strip().lower() == "follow_up") == follow_ups]

    def activities(self) -> KindReport:
        rows = self._activity_rows(False)
        left, written = [], []
        for row in rows:
            ref, why = self.account(row["entity_type"], row["entity_id"])
            kind = ACTIVITY_KINDS.get(str(row["activity_type"] or "").strip().lower())
            if ref is None:
                left.append(("entity_activity", row["activity_id"], why))
                continue
            if kind is None:
                left.append(("entity_activity", row["activity_id"], f"“{row['activity_type']}” is not a kind of "
                                                                    "activity"))
                continue
            said = str(row["description"] or "").strip()
            if said and row["activity_type"] == "status_change":
                said = f"Status change: {said}"
            try:
                on = accounts.day(str(row["activity_date"] or "")[:10], "happened_on")
                said = accounts.text(said, "text", accounts.LONG_TEXT, required=True, lines=True)
            except ChangeError as exc:
                left.append(("entity_activity", row["activity_id"], str(exc)))
                continue
            written.append(self.dst.execute(
                "INSERT INTO account_activities (account_type, account_id, kind, happened_on, who, text, contact_id,"
                " logged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ref.type, ref.id, kind, on, _who(row["created_by"]), said, self.contact_id.get(row["contact_id"]),
                 _stamp(row["created_date"]) or self.now)).lastrowid)
        self.log("activity", written, f"{len(written)} activities")
        return KindReport("activities", len(rows), len(rows) - len(left), left)

    def follow_ups(self) -> KindReport:
        """Follow-ups: owned by who set them (a user's email, or an AE's name)."""
        rows = self._activity_rows(True)
        left, written = [], []
        for row in rows:
            ref, why = self.account(row["entity_type"], row["entity_id"])
            if ref is None:
                left.append(("entity_activity", row["activity_id"], why))
                continue
            try:
                due = accounts.day(str(row["due_date"] or "")[:10], "due_on")
                said = accounts.text(row["description"], "text", accounts.LONG_TEXT, required=True, lines=True)
                owner = accounts.owner(self.dst, row["created_by"], self.known_aes())
            except ChangeError as exc:
                left.append(("entity_activity", row["activity_id"], str(exc)))
                continue
            done = _yes(row["is_completed"])
            written.append(self.dst.execute(
                "INSERT INTO account_follow_ups (account_type, account_id, due_on, owner, text, created_at, created_by,"
                " done_at, done_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ref.type, ref.id, due, owner, said, _stamp(row["created_date"]) or self.now, _who(row["created_by"]),
                 (_stamp(row["completed_date"]) or self.now) if done else None,
                 _who(row["created_by"]) if done else None)).lastrowid)
        self.log("follow_up", written, f"{len(written)} follow-ups")
        return KindReport("follow-ups", len(rows), len(rows) - len(left), left)

    def account_notes(self) -> KindReport:
        """The notes typed on a customer or agency itself (customers.notes, agencies.notes): ctvdb's
        account has no such field, so each becomes a note on the account's page, dated when the
        source last changed the entity."""
        found = []
        for kind, table, key in (("customer", "customers", "customer_id"), ("agency", "agencies", "agency_id")):
            found += [{**r, "id": r[key], "table": table, "kind": kind}
                      for r in self.rows(table, (key, "notes", "created_date", "updated_date"), key)
                      if str(r["notes"] or "").strip()]
        left, written = [], []
        for r in found:
            ref, why = self.account(r["kind"], r["id"])
            if ref is None:
                left.append((r["table"], r["id"], why))
                continue
            stamp = _stamp(r["updated_date"]) or _stamp(r["created_date"]) or self.now
            try:
                said = accounts.text(f"Notes in {SOURCE}: {str(r['notes']).strip()}", "text", accounts.LONG_TEXT,
                                     lines=True)
            except ChangeError as exc:
                left.append((r["table"], r["id"], str(exc)))
                continue
            written.append(self.dst.execute(
                "INSERT INTO account_activities (account_type, account_id, kind, happened_on, who, text, logged_at)"
                " VALUES (?, ?, 'note', ?, ?, ?, ?)", (ref.type, ref.id, stamp[:10], ADOPTER, said, stamp)).lastrowid)
        self.log("activity", written, f"The notes of {len(written)} customers and agencies")
        return KindReport("account notes", len(found), len(found) - len(left), left)

    # -- users ----------------------------------------------------------------------------

    def users(self, auth_path: Path | None) -> KindReport:
        rows = self.rows("users", ("user_id", "first_name", "last_name", "email", "role"), "user_id")
        if not rows:
            return KindReport("users", 0, 0)
        if auth_path is None or not Path(auth_path).exists():
            return KindReport("users", len(rows), 0, [("users", r["user_id"], "there is no sign-in database to add "
                                                                             "it to") for r in rows])
        conn = sqlite3.connect(auth_path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            existing = {r[0]: r[1] for r in conn.execute("SELECT email, ae FROM users")}
            self.user_aes |= {ae for ae in existing.values() if ae}
            left, new = [], []
            for row in rows:
                name = " ".join(f"{row['first_name'] or ''} {row['last_name'] or ''}".split())
                role = ROLES.get(str(row["role"] or "").strip().lower())
                try:
                    email = auth.normalise_email(str(row["email"] or ""))
                except auth.AuthError as exc:
                    left.append(("users", row["user_id"], str(exc).rstrip(".")))
                    continue
                if role is None:
                    left.append(("users", row["user_id"], f"“{row['role']}” is not a role ctvdb has "
                                                          f"({', '.join(auth.ROLES)})"))
                    continue
                if email in existing:
                    left.append(("users", row["user_id"], f"the target's sign-in database has a user {email} already"))
                    continue
                ae = auth.normalise_ae(name) if role == "ae" else None
                if role == "ae" and not ae:
                    left.append(("users", row["user_id"], "an AE user needs a name, the sales person it may see"))
                    continue
                existing[email] = ae
                new.append((email, name, role, ae, NO_PASSWORD))
            conn.executemany("INSERT INTO users (email, name, role, ae, password_hash) VALUES (?, ?, ?, ?, ?)", new)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
        self.user_aes |= {ae for _, _, _, ae, _ in new if ae}
        self._aes = None
        return KindReport("users", len(rows), len(rows) - len(left), left)


# Helpers ---------------------------------------------------------------------------------------

def _sector_code(code, sector_id: int, taken: set[str]) -> str:
    """The source's sector code as a ctvdb code (letters, digits, _), unique."""
    text = re.sub(r"[^A-Z0-9_]+", "_", str(code or "").strip().upper()).strip("_")[:20]
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,19}", text) or text in taken:
        text = f"S{sector_id}"
        while text in taken:
            text += "_"
    return text


def _stamp(text) -> str | None:
    """A source timestamp ('2024-11-25 04:30:00', '2024-11-25') as ctvdb's ISO UTC, None if blank or bad."""
    text = str(text or "").strip().replace(" ", "T")
    if not text:
        return None
    if len(text) == 10:
        text += "T00:00:00"
    try:
        dt.datetime.fromisoformat(text[:19])
    except ValueError:
        return None
    return text[:19] + "Z"


def _who(text) -> str:
    """Who wrote a record in the source, as ctvdb's logs keep it (an email lower-cased), or "adopt"."""
    return " ".join(str(text or "").split()).lower() or ADOPTER


def _yes(value) -> bool:
    return str(value if value is not None else "").strip().lower() in ("1", "true", "yes", "y")


def _before(day: str) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
