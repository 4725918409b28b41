"""The human-entered tables of CTV BookedBiz DB (the system ctvdb replaces), for `ctvdb adopt`'s tests.

tests/source_db.py writes the source's spots, customers, agencies, aliases, months and batches and
calls `create_record_tables` after its own DDL; this module adds what people typed, in the
source's layout as its public schema (`schema-260119-1152am.sql`) and migrations of
daseme/ctv-bookedbiz-db describe it. The DDL is written here from those facts, not copied:

- sectors, and customer_sectors (010: many sectors per customer, one primary; customers.sector_id
  caches the primary);
- customers.revenue_class (026, 'regular' or 'irregular');
- budget_versions + budget_data (the versioned budget, an active version per year) and the older
  flat `budget` table; forecast and forecast_history (sql/planning_tables.sql);
- entity_contacts (002, 003: role, last contacted), entity_addresses (006) and the address
  columns on customers and agencies (001); entity_activity as 009 left it (calls, emails,
  meetings, notes, status changes, and follow-ups as activities with a due date and completion);
- ae_assignments (007) and the assigned_ae columns (004);
- billing terms on customers and agencies: po_number and edi_billing (006), affidavit_required
  (008, customers), commission_rate (012, 015) and order_rate_basis, edi_code (024, agencies);
- users as 020 left them (no password column: Tailscale identity), role a free text since 021
  added 'viewer' without DDL — so a copy may hold a role the source's own code never wrote.

The source's triggers (one primary contact/address/sector per entity) are left out: the tests
write what they mean, including rows those triggers would have prevented. CHECK constraints that
would stop a test planting a value the source's copy can hold are left out too (commission
percentages, budget amounts).

    create_record_tables(conn)                       # after source_db's DDL
    sector(conn, 1, "AUTO", "Automotive")
    contact(conn, "customer", 12, "Ana Lee", email="ana@example.com")
"""

from __future__ import annotations

import sqlite3

RECORD_DDL = """
-- 001: addresses on the entities; 004: AE; 006: billing; 008, 012, 015: terms; 026: class
ALTER TABLE customers ADD COLUMN address TEXT;
ALTER TABLE customers ADD COLUMN city TEXT;
ALTER TABLE customers ADD COLUMN state TEXT;
ALTER TABLE customers ADD COLUMN zip TEXT;
ALTER TABLE customers ADD COLUMN po_number TEXT;
ALTER TABLE customers ADD COLUMN edi_billing INTEGER DEFAULT 0;
ALTER TABLE customers ADD COLUMN affidavit_required BOOLEAN DEFAULT 0;
ALTER TABLE customers ADD COLUMN order_rate_basis TEXT DEFAULT NULL;
ALTER TABLE customers ADD COLUMN revenue_class TEXT DEFAULT 'regular';
ALTER TABLE agencies ADD COLUMN address TEXT;
ALTER TABLE agencies ADD COLUMN city TEXT;
ALTER TABLE agencies ADD COLUMN state TEXT;
ALTER TABLE agencies ADD COLUMN zip TEXT;
ALTER TABLE agencies ADD COLUMN assigned_ae TEXT;
ALTER TABLE agencies ADD COLUMN po_number TEXT;
ALTER TABLE agencies ADD COLUMN edi_billing INTEGER DEFAULT 0;
ALTER TABLE agencies ADD COLUMN order_rate_basis TEXT DEFAULT NULL;

CREATE TABLE sectors (
    sector_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    sector_code  TEXT NOT NULL UNIQUE,
    sector_name  TEXT NOT NULL,
    sector_group TEXT,
    is_active    BOOLEAN DEFAULT 1,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE customer_sectors (
    customer_sector_id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id        INTEGER NOT NULL,
    sector_id          INTEGER NOT NULL,
    is_primary         INTEGER NOT NULL DEFAULT 0,
    assigned_date      TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    assigned_by        TEXT NOT NULL DEFAULT 'system',
    UNIQUE (customer_id, sector_id)
);

CREATE TABLE budget (
    budget_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    ae_name       TEXT NOT NULL,
    year          INTEGER NOT NULL,
    month         INTEGER NOT NULL,
    budget_amount DECIMAL(12, 2) NOT NULL,
    created_date  TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_date  TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    source        TEXT,
    UNIQUE (ae_name, year, month)
);

CREATE TABLE budget_versions (
    version_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    version_name TEXT NOT NULL,
    year         INTEGER NOT NULL,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    created_by   TEXT,
    description  TEXT,
    is_active    BOOLEAN DEFAULT 1,
    source_file  TEXT,
    UNIQUE (version_name, year)
);

CREATE TABLE budget_data (
    budget_data_id INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id     INTEGER NOT NULL REFERENCES budget_versions (version_id),
    ae_name        TEXT NOT NULL,
    year           INTEGER NOT NULL,
    quarter        INTEGER NOT NULL,
    month          INTEGER NOT NULL,
    budget_amount  DECIMAL(12, 2) NOT NULL,
    created_date   TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (version_id, ae_name, year, month)
);

CREATE TABLE forecast (
    forecast_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    ae_name         TEXT NOT NULL,
    year            INTEGER NOT NULL,
    month           INTEGER NOT NULL,
    forecast_amount DECIMAL(12, 2) NOT NULL,
    updated_date    TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_by      TEXT,
    notes           TEXT,
    UNIQUE (ae_name, year, month)
);

CREATE TABLE forecast_history (
    history_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ae_name         TEXT NOT NULL,
    year            INTEGER NOT NULL,
    month           INTEGER NOT NULL,
    previous_amount DECIMAL(12, 2),
    new_amount      DECIMAL(12, 2) NOT NULL,
    changed_date    TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    changed_by      TEXT,
    session_notes   TEXT
);

CREATE TABLE entity_contacts (
    contact_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type    TEXT NOT NULL CHECK (entity_type IN ('customer', 'agency')),
    entity_id      INTEGER NOT NULL,
    contact_name   TEXT NOT NULL,
    contact_title  TEXT,
    email          TEXT,
    phone          TEXT,
    is_primary     BOOLEAN DEFAULT 0,
    is_active      BOOLEAN DEFAULT 1,
    created_by     TEXT NOT NULL,
    created_date   TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_date   TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    notes          TEXT,
    contact_role   TEXT,        -- 003: decision_maker, account_manager, billing, technical, other
    last_contacted TIMESTAMP
);

CREATE TABLE entity_addresses (
    address_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type   TEXT NOT NULL CHECK (entity_type IN ('customer', 'agency')),
    entity_id     INTEGER NOT NULL,
    address_label TEXT NOT NULL CHECK (address_label IN ('Billing', 'Shipping', 'PO Box', 'Office', 'Other')),
    address       TEXT,
    city          TEXT,
    state         TEXT,
    zip           TEXT,
    is_primary    BOOLEAN DEFAULT 0,
    is_active     BOOLEAN DEFAULT 1,
    created_by    TEXT NOT NULL,
    created_date  TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_date  TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    notes         TEXT
);

CREATE TABLE entity_activity (
    activity_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type    TEXT NOT NULL CHECK (entity_type IN ('customer', 'agency')),
    entity_id      INTEGER NOT NULL,
    activity_type  TEXT NOT NULL CHECK (activity_type IN ('note', 'call', 'email', 'meeting', 'status_change',
                                                          'follow_up')),
    activity_date  TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    description    TEXT,
    created_by     TEXT NOT NULL,
    created_date   TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    contact_id     INTEGER REFERENCES entity_contacts (contact_id) ON DELETE SET NULL,
    due_date       TEXT,
    is_completed   INTEGER DEFAULT 0,
    completed_date TIMESTAMP
);

CREATE TABLE ae_assignments (
    assignment_id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type   TEXT NOT NULL CHECK (entity_type IN ('customer', 'agency')),
    entity_id     INTEGER NOT NULL,
    ae_name       TEXT NOT NULL,
    assigned_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    ended_date    TIMESTAMP,                     -- NULL: the current assignment
    created_by    TEXT NOT NULL,
    notes         TEXT
);

CREATE TABLE users (
    user_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name   TEXT NOT NULL,
    last_name    TEXT NOT NULL,
    email        TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL DEFAULT 'AE',     -- admin, management, AE, viewer (021)
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_login   TIMESTAMP,
    updated_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
"""


def create_record_tables(conn: sqlite3.Connection) -> None:
    """Add the human-entered tables and columns to a source made by source_db's DDL."""
    conn.executescript(RECORD_DDL)


def _insert(conn, table: str, values: dict) -> int:
    names = [name for name, value in values.items() if value is not None or name.endswith("_id")]
    return conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                        [values[name] for name in names]).lastrowid


def sector(conn, sector_id: int | None, code: str, name: str, *, group: str | None = None,
           active: bool = True) -> int:
    return _insert(conn, "sectors", {"sector_id": sector_id, "sector_code": code, "sector_name": name,
                                     "sector_group": group, "is_active": int(active)})


def customer_sector(conn, customer_id: int, sector_id: int, *, primary: bool = True,
                    assigned_by: str = "someone@station.example", assigned_date: str | None = None) -> int:
    """A row of customer_sectors; a primary one also sets the customers.sector_id cache, as the
    source's trigger does."""
    row = _insert(conn, "customer_sectors", {"customer_sector_id": None, "customer_id": customer_id,
                                             "sector_id": sector_id, "is_primary": int(primary),
                                             "assigned_by": assigned_by, "assigned_date": assigned_date})
    if primary:
        conn.execute("UPDATE customers SET sector_id = ? WHERE customer_id = ?", (sector_id, customer_id))
    return row


def set_customer(conn, customer_id: int, **columns) -> None:
    """Set columns of one source customer (revenue_class, po_number, commission_rate, address, ...)."""
    conn.execute(f"UPDATE customers SET {', '.join(f'{c} = ?' for c in columns)} WHERE customer_id = ?",
                 (*columns.values(), customer_id))


def set_agency(conn, agency_id: int, **columns) -> None:
    conn.execute(f"UPDATE agencies SET {', '.join(f'{c} = ?' for c in columns)} WHERE agency_id = ?",
                 (*columns.values(), agency_id))


def budget_version(conn, version_id: int | None, name: str, year: int, *, active: bool = True,
                   created_date: str = "2024-12-15 10:00:00", created_by: str | None = "dana@station.example",
                   source_file: str | None = "Budget.xlsx") -> int:
    return _insert(conn, "budget_versions", {"version_id": version_id, "version_name": name, "year": year,
                                             "created_date": created_date, "created_by": created_by,
                                             "is_active": int(active), "source_file": source_file})


def budget_cell(conn, version_id: int, ae_name: str, year: int, month: int, amount) -> int:
    return _insert(conn, "budget_data", {"budget_data_id": None, "version_id": version_id, "ae_name": ae_name,
                                         "year": year, "quarter": (month + 2) // 3, "month": month,
                                         "budget_amount": amount})


def legacy_budget(conn, ae_name: str, year: int, month: int, amount, *, updated_date: str = "2023-12-20 09:00:00",
                  source: str | None = "budget 2024.xlsx") -> int:
    """A row of the older flat `budget` table."""
    return _insert(conn, "budget", {"budget_id": None, "ae_name": ae_name, "year": year, "month": month,
                                    "budget_amount": amount, "created_date": updated_date,
                                    "updated_date": updated_date, "source": source})


def forecast(conn, ae_name: str, year: int, month: int, amount, *, updated_date: str = "2025-01-10 16:00:00",
             updated_by: str | None = "lee@station.example") -> int:
    return _insert(conn, "forecast", {"forecast_id": None, "ae_name": ae_name, "year": year, "month": month,
                                      "forecast_amount": amount, "updated_date": updated_date,
                                      "updated_by": updated_by})


def forecast_change(conn, ae_name: str, year: int, month: int, previous, new, *, changed_date: str,
                    changed_by: str | None = "lee@station.example", notes: str | None = None) -> int:
    return _insert(conn, "forecast_history", {"history_id": None, "ae_name": ae_name, "year": year, "month": month,
                                              "previous_amount": previous, "new_amount": new,
                                              "changed_date": changed_date, "changed_by": changed_by,
                                              "session_notes": notes})


def contact(conn, entity_type: str, entity_id: int, name: str, *, title: str | None = None, email: str | None = None,
            phone: str | None = None, role: str | None = None, primary: bool = False, active: bool = True,
            notes: str | None = None, created_by: str = "ana@station.example",
            created_date: str = "2024-06-01 12:00:00") -> int:
    return _insert(conn, "entity_contacts", {
        "contact_id": None, "entity_type": entity_type, "entity_id": entity_id, "contact_name": name,
        "contact_title": title, "email": email, "phone": phone, "contact_role": role, "is_primary": int(primary),
        "is_active": int(active), "notes": notes, "created_by": created_by, "created_date": created_date})


def address(conn, entity_type: str, entity_id: int, label: str, *, address_: str | None = None,
            city: str | None = None, state: str | None = None, zip_: str | None = None, active: bool = True,
            primary: bool = False, created_by: str = "ana@station.example") -> int:
    return _insert(conn, "entity_addresses", {
        "address_id": None, "entity_type": entity_type, "entity_id": entity_id, "address_label": label,
        "address": address_, "city": city, "state": state, "zip": zip_, "is_primary": int(primary),
        "is_active": int(active), "created_by": created_by})


def activity(conn, entity_type: str, entity_id: int, kind: str, description: str | None, *,
             activity_date: str = "2024-11-05 15:30:00", created_by: str = "ana@station.example",
             contact_id: int | None = None) -> int:
    """A call, email, meeting, note or status change."""
    return _insert(conn, "entity_activity", {
        "activity_id": None, "entity_type": entity_type, "entity_id": entity_id, "activity_type": kind,
        "activity_date": activity_date, "description": description, "created_by": created_by,
        "created_date": activity_date, "contact_id": contact_id})


def follow_up(conn, entity_type: str, entity_id: int, description: str | None, due_date: str | None, *,
              created_by: str = "ana@station.example", completed_date: str | None = None,
              created_date: str = "2024-12-01 09:00:00") -> int:
    """A follow-up, as the source keeps it (migration 009): an activity with a due date."""
    return _insert(conn, "entity_activity", {
        "activity_id": None, "entity_type": entity_type, "entity_id": entity_id, "activity_type": "follow_up",
        "activity_date": created_date, "description": description, "created_by": created_by,
        "created_date": created_date, "due_date": due_date, "is_completed": int(completed_date is not None),
        "completed_date": completed_date})


def ae_assignment(conn, entity_type: str, entity_id: int, ae_name: str, assigned_date: str,
                  ended_date: str | None = None, *, created_by: str = "dana@station.example") -> int:
    """An AE assignment; the open one (no end) also sets the entity's assigned_ae, as the source does."""
    row = _insert(conn, "ae_assignments", {
        "assignment_id": None, "entity_type": entity_type, "entity_id": entity_id, "ae_name": ae_name,
        "assigned_date": assigned_date, "ended_date": ended_date, "created_by": created_by})
    if ended_date is None:
        table, key = ("customers", "customer_id") if entity_type == "customer" else ("agencies", "agency_id")
        conn.execute(f"UPDATE {table} SET assigned_ae = ? WHERE {key} = ?", (ae_name, entity_id))
    return row


def user(conn, user_id: int | None, first_name: str, last_name: str, email: str, role: str = "AE", *,
         created_date: str = "2024-01-02 08:00:00") -> int:
    return _insert(conn, "users", {"user_id": user_id, "first_name": first_name, "last_name": last_name,
                                   "email": email, "role": role, "created_date": created_date})
