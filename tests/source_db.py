"""A SQLite file in the layout of the system ctvdb replaces (CTV BookedBiz DB), for `ctvdb adopt`.

The tables and columns are those of its public schema (`schema-260119-1152am.sql` and
`sql/migrations/0*.sql` of daseme/ctv-bookedbiz-db) that adopt reads: spots, customers,
agencies, markets, languages, entity_aliases (the alias table its import routes bill codes
through), customer_mappings and customer_canonical_map (older, overlapping alias tables),
month_closures and import_batches. The DDL is written here from those facts, not copied; its
audit view `v_customer_normalization_audit` is reduced to the columns adopt reads (raw_text ->
customer_id), matching a raw bill code listed in raw_customer_inputs to the customer of the same
normalized_name. The human-entered tables (sectors, budgets, forecasts, contacts, ...) are
tests/source_db_records.py's, added by `create_source` when that module exists.

    conn = create_source(path)
    market(conn, "SEA", "Seattle")
    agency(conn, 5, "Admerasia")
    customer(conn, 12, "Admerasia:McDonald's", agency_id=5)
    spot(conn, bill_code="Admerasia:McDonald's", customer_id=12, broadcast_month="Nov-24", gross_rate=100)
    conn.commit()

Months are text `Mmm-YY` as the source keeps them; money is whatever SQLite stores for
DECIMAL(12, 2) (REAL), so a test can also plant a value the source accepted and ctvdb cannot.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

SOURCE_DDL = """
CREATE TABLE agencies (
    agency_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_name  TEXT NOT NULL UNIQUE,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    is_active    BOOLEAN DEFAULT 1,
    notes        TEXT
    -- migrations 012, 024: commission and EDI fields
    , commission_rate REAL, edi_code TEXT
);

CREATE TABLE customers (
    customer_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    normalized_name TEXT NOT NULL UNIQUE,          -- case-sensitive: 'ADMERASIA' and 'Admerasia' both fit
    sector_id       INTEGER,
    agency_id       INTEGER,
    created_date    TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_date    TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    customer_type   TEXT,
    is_active       BOOLEAN DEFAULT 1,
    notes           TEXT
    -- migrations 004, 015: AE assignment and commission
    , assigned_ae TEXT, commission_rate REAL
);

CREATE TABLE markets (
    market_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    market_name  TEXT NOT NULL UNIQUE,
    market_code  TEXT NOT NULL UNIQUE,
    region       TEXT,
    is_active    BOOLEAN DEFAULT 1,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE languages (
    language_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    language_code  TEXT NOT NULL UNIQUE,
    language_name  TEXT NOT NULL,
    language_group TEXT,
    created_date   TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE entity_aliases (
    alias_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alias_name       TEXT NOT NULL,
    entity_type      TEXT NOT NULL CHECK (entity_type IN ('customer', 'agency')),
    target_entity_id INTEGER NOT NULL,
    confidence_score INTEGER DEFAULT 100,
    created_by       TEXT NOT NULL,
    created_date     TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_date     TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    is_active        BOOLEAN DEFAULT 1,
    notes            TEXT,
    UNIQUE (alias_name, entity_type)
);

CREATE TABLE customer_mappings (
    mapping_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    original_name    TEXT NOT NULL UNIQUE,
    customer_id      INTEGER NOT NULL,
    created_date     TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    created_by       TEXT DEFAULT 'system',
    confidence_score REAL
);

CREATE TABLE customer_canonical_map (
    alias_name     TEXT PRIMARY KEY,
    canonical_name TEXT NOT NULL,
    updated_date   TEXT DEFAULT (datetime('now'))
);

CREATE TABLE raw_customer_inputs (
    raw_text   TEXT PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE TABLE month_closures (
    broadcast_month TEXT PRIMARY KEY,              -- 'Nov-24'
    closed_date     DATE NOT NULL,
    closed_by       TEXT NOT NULL,
    notes           TEXT,
    created_date    TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE import_batches (
    batch_id                  TEXT PRIMARY KEY,
    import_date               TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    import_mode               TEXT NOT NULL CHECK (import_mode IN ('HISTORICAL', 'WEEKLY_UPDATE', 'MANUAL')),
    source_file               TEXT NOT NULL,
    broadcast_months_affected TEXT,
    records_imported          INTEGER DEFAULT 0,
    records_deleted           INTEGER DEFAULT 0,
    status                    TEXT NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED')),
    started_by                TEXT,
    completed_at              TIMESTAMP,
    notes                     TEXT,
    error_summary             TEXT
);

CREATE TABLE spots (
    spot_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    bill_code       TEXT NOT NULL,
    air_date        DATE NOT NULL,
    end_date        DATE,
    day_of_week     TEXT,
    time_in         TEXT,
    time_out        TEXT,
    length_seconds  TEXT,
    media           TEXT,
    comments        TEXT,
    language_code   TEXT,
    format          TEXT,
    sequence_number INTEGER,
    line_number     INTEGER,
    spot_type       TEXT,
    estimate        TEXT,
    gross_rate      DECIMAL(12, 2),
    make_good       TEXT,
    spot_value      DECIMAL(12, 2),
    broadcast_month TEXT,                          -- 'Nov-24'
    broker_fees     DECIMAL(12, 2),
    priority        INTEGER,
    station_net     DECIMAL(12, 2),
    sales_person    TEXT,
    revenue_type    TEXT,
    billing_type    TEXT,
    agency_flag     TEXT,
    affidavit_flag  TEXT,
    contract        TEXT,
    market_name     TEXT,
    customer_id     INTEGER,
    agency_id       INTEGER,
    market_id       INTEGER,
    language_id     INTEGER,
    load_date       TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    source_file     TEXT,
    is_historical   BOOLEAN DEFAULT 0,
    effective_date  DATE,
    import_batch_id TEXT,
    spot_category   TEXT
);
CREATE INDEX idx_spots_bm ON spots (broadcast_month);

-- The audit view, reduced to what adopt reads: the customer a raw bill code is attributed to.
CREATE VIEW v_customer_normalization_audit AS
SELECT r.raw_text AS raw_text,
       trim(r.raw_text) AS normalized_name,
       c.customer_id AS customer_id,
       CASE WHEN c.customer_id IS NOT NULL THEN 1 ELSE 0 END AS exists_in_customers
FROM raw_customer_inputs r
LEFT JOIN customers c ON c.normalized_name = trim(r.raw_text);
"""

_SPOT_COLUMNS = (
    "spot_id", "bill_code", "air_date", "end_date", "day_of_week", "time_in", "time_out",
    "length_seconds", "media", "comments", "language_code", "format", "sequence_number",
    "line_number", "spot_type", "estimate", "gross_rate", "make_good", "spot_value",
    "broadcast_month", "broker_fees", "priority", "station_net", "sales_person", "revenue_type",
    "billing_type", "agency_flag", "affidavit_flag", "contract", "market_name", "customer_id",
    "agency_id", "market_id", "language_id", "source_file", "is_historical", "import_batch_id",
)
INSERT_SPOT = (f"INSERT INTO spots ({', '.join(_SPOT_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(_SPOT_COLUMNS))})")


def create_tables(conn: sqlite3.Connection) -> None:
    """The source's tables that adopt reads, and the records part's when that module exists."""
    conn.executescript(SOURCE_DDL)
    # tests/ is on sys.path, as for xlsx_rows; the module is the records part's, written beside this one.
    if importlib.util.find_spec("source_db_records") is not None:
        importlib.import_module("source_db_records").create_record_tables(conn)


def create_source(path: str | Path) -> sqlite3.Connection:
    """A new source database at `path` with every table; the caller adds rows and commits."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    conn = sqlite3.connect(path)
    create_tables(conn)
    return conn


def market(conn, code: str, name: str) -> int:
    return conn.execute("INSERT INTO markets (market_name, market_code) VALUES (?, ?)", (name, code)).lastrowid


def agency(conn, agency_id: int | None, name: str, *, active: bool = True) -> int:
    return conn.execute("INSERT INTO agencies (agency_id, agency_name, is_active) VALUES (?, ?, ?)",
                        (agency_id, name, int(active))).lastrowid


def customer(conn, customer_id: int | None, normalized_name: str, *, agency_id: int | None = None,
             active: bool = True, sector_id: int | None = None, assigned_ae: str | None = None) -> int:
    return conn.execute(
        "INSERT INTO customers (customer_id, normalized_name, agency_id, is_active, sector_id, assigned_ae)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (customer_id, normalized_name, agency_id, int(active), sector_id, assigned_ae)).lastrowid


def alias(conn, alias_name: str, target_id: int, *, entity_type: str = "customer", active: bool = True,
          created_by: str = "someone@station.example") -> int:
    return conn.execute(
        "INSERT INTO entity_aliases (alias_name, entity_type, target_entity_id, created_by, is_active)"
        " VALUES (?, ?, ?, ?, ?)", (alias_name, entity_type, target_id, created_by, int(active))).lastrowid


def mapping(conn, original_name: str, customer_id: int) -> int:
    """A row of the older customer_mappings table (overlaps entity_aliases; the import ignores it)."""
    return conn.execute("INSERT INTO customer_mappings (original_name, customer_id) VALUES (?, ?)",
                        (original_name, customer_id)).lastrowid


def raw_input(conn, raw_text: str) -> None:
    """A raw bill code the audit view attributes (to the customer of the same normalized_name)."""
    conn.execute("INSERT OR IGNORE INTO raw_customer_inputs (raw_text) VALUES (?)", (raw_text,))


def close_month(conn, label: str, closed_date: str, closed_by: str) -> None:
    conn.execute("INSERT INTO month_closures (broadcast_month, closed_date, closed_by) VALUES (?, ?, ?)",
                 (label, closed_date, closed_by))


def batch(conn, batch_id: str, *, mode: str = "WEEKLY_UPDATE", source_file: str = "Commercial Log.xlsx",
          import_date: str = "2024-11-25 04:30:00", status: str = "COMPLETED", records: int = 0,
          started_by: str | None = "cron") -> str:
    conn.execute(
        "INSERT INTO import_batches (batch_id, import_date, import_mode, source_file, records_imported, status,"
        " started_by, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (batch_id, import_date, mode, source_file, records, status, started_by, import_date))
    return batch_id


SPOT_DEFAULTS = {
    "spot_id": None, "end_date": None, "day_of_week": "Mon", "time_in": "19:00:00",
    "time_out": "19:30:00", "length_seconds": "30", "media": "Prime News", "comments": None,
    "language_code": "M", "format": None, "sequence_number": 1, "line_number": 1, "spot_type": "COM",
    "estimate": None, "gross_rate": 0.0, "make_good": None, "spot_value": None, "broker_fees": None,
    "priority": None, "station_net": None, "sales_person": "Charmaine Lane",
    "revenue_type": "Internal Ad Sales", "billing_type": "Broadcast", "agency_flag": None,
    "affidavit_flag": "N", "contract": None, "market_name": "SEA", "customer_id": None,
    "agency_id": None, "market_id": None, "language_id": None, "source_file": "Commercial Log.xlsx",
    "is_historical": 0, "import_batch_id": None,
}


def spot_row(*, bill_code: str, air_date: str, broadcast_month: str, **values) -> tuple:
    """One spots row in INSERT_SPOT's order (for executemany by the bench)."""
    unknown = set(values) - set(SPOT_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown spot column(s) {', '.join(sorted(unknown))}")
    row = dict(SPOT_DEFAULTS, bill_code=bill_code, air_date=air_date, broadcast_month=broadcast_month)
    row.update(values)
    return tuple(row[name] for name in _SPOT_COLUMNS)


def spot(conn, *, bill_code: str, air_date: str, broadcast_month: str, **values) -> int:
    return conn.execute(INSERT_SPOT, spot_row(bill_code=bill_code, air_date=air_date,
                                              broadcast_month=broadcast_month, **values)).lastrowid
