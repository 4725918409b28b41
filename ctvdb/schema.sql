-- The ctvdb data model on one page. Applied to a new database by `ctvdb init`; later changes
-- arrive as numbered files in migrations/ and are also folded in here, so this file is always
-- the current schema and `PRAGMA user_version` says which migration it matches.
--
-- Money is REAL dollars, dates are ISO text (YYYY-MM-DD), times HH:MM:SS, timestamps ISO UTC.
-- A broadcast month is the integer YYYYMM (sorts and filters by range); `month_label` keeps the
-- workbook's `Mmm-YY` for display.

CREATE TABLE languages (
    code           TEXT PRIMARY KEY,          -- upper-case, as normalised by the import
    name           TEXT NOT NULL,
    language_group TEXT NOT NULL              -- the report group (Chinese, South Asian, ...)
);

CREATE TABLE markets (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE sectors (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
    -- v10: 0 = retired, kept with its customers and history, no longer offered for assignment
    , active INTEGER NOT NULL DEFAULT 1);

CREATE TABLE revenue_types (
    name       TEXT PRIMARY KEY,
    is_revenue INTEGER NOT NULL                -- 0 only for Trade, which is never stored as revenue
);

CREATE TABLE agencies (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE              -- lower-cased normalised name: matching key
    -- v12: set when merged into another agency, or when this spelling is an alias a person named:
    -- the import books a customer of this spelling to that agency. version: +1 on every change.
    , merged_into INTEGER REFERENCES agencies(id), version INTEGER NOT NULL DEFAULT 1);

CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,                -- the part of the bill code after the last colon
    agency_chain TEXT NOT NULL DEFAULT '',     -- 'Agency1:Agency2', '' for a direct customer
    agency_id    INTEGER REFERENCES agencies(id),   -- the booking agency (first of the chain)
    identity_key TEXT NOT NULL UNIQUE,         -- lower-cased normalised full bill code
    sector_code  TEXT REFERENCES sectors(code),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    -- v9, the workbench (DOMAIN.md §7). identity_key stays the bill code the customer was created
    -- for; which bill codes belong to it now is table bill_codes. Deactivated: hidden from pick
    -- lists, never from figures; the import reactivates it when new spots arrive.
    , active INTEGER NOT NULL DEFAULT 1,
    -- reviewed_at NULL = in the resolution queue (review_reason says why it is there)
    reviewed_at TEXT,
    reviewed_by TEXT,
    review_reason TEXT,
    -- irregular: political campaigns, one-off events; a Political-sector customer starts irregular
    revenue_class TEXT NOT NULL DEFAULT 'regular' CHECK (revenue_class IN ('regular', 'irregular')),
    -- set when merged into another customer (or its last bill code was aliased away): it keeps
    -- no bill code and no spot, and never comes back unless the change is undone
    merged_into INTEGER REFERENCES customers(id),
    -- +1 on every change: a form carries the version it was drawn from, and a stale one is refused;
    -- v12, review_later_at: when a person last said "later" in the queue (it waits behind the others)
    version INTEGER NOT NULL DEFAULT 1, review_later_at TEXT);

CREATE TABLE import_batches (
    id               INTEGER PRIMARY KEY,
    mode             TEXT NOT NULL CHECK (mode IN ('daily', 'historical', 'manual')),
    source_file      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED')),
    started_at       TEXT NOT NULL,            -- ISO UTC
    finished_at      TEXT,
    pid              INTEGER,
    rows_read        INTEGER NOT NULL DEFAULT 0,
    rows_imported    INTEGER NOT NULL DEFAULT 0,
    rows_deleted     INTEGER NOT NULL DEFAULT 0,
    rows_ignored     INTEGER NOT NULL DEFAULT 0,
    rows_trade       INTEGER NOT NULL DEFAULT 0,
    rows_rejected    INTEGER NOT NULL DEFAULT 0,
    rows_protected   INTEGER NOT NULL DEFAULT 0,   -- rows of closed or frozen months, left as they were
    months_replaced  TEXT NOT NULL DEFAULT '',  -- comma-separated YYYYMM
    months_protected TEXT NOT NULL DEFAULT '',  -- comma-separated YYYYMM:reason
    closed_by        TEXT,
    error_summary    TEXT
);
CREATE INDEX import_batches_status_finished ON import_batches (status, finished_at);

CREATE TABLE month_closures (
    broadcast_month INTEGER PRIMARY KEY,       -- YYYYMM
    closed_at       TEXT NOT NULL,
    closed_by       TEXT NOT NULL,
    batch_id        INTEGER REFERENCES import_batches(id)
);

CREATE TABLE rejected_rows (
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL REFERENCES import_batches(id),
    sheet       TEXT NOT NULL,
    row_number  INTEGER NOT NULL,              -- the Excel row number (header is row 1)
    column_name TEXT NOT NULL,                 -- the header name of the offending column
    value       TEXT,
    reason      TEXT NOT NULL
);
CREATE INDEX rejected_rows_batch ON rejected_rows (batch_id);

CREATE TABLE spots (
    id              INTEGER PRIMARY KEY,
    batch_id        INTEGER NOT NULL REFERENCES import_batches(id),
    sheet           TEXT NOT NULL,
    row_number      INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    agency_id       INTEGER REFERENCES agencies(id),  -- as the import saw it; reports use customers.agency_id
    -- the 29 source columns, typed
    bill_code       TEXT NOT NULL,
    air_date        TEXT NOT NULL,
    end_date        TEXT,
    day_of_week     TEXT,
    time_in         TEXT,
    time_out        TEXT,
    length_seconds  INTEGER,
    media           TEXT,
    comments        TEXT,
    language_code   TEXT,
    format          TEXT,
    sequence_number INTEGER,
    line_number     INTEGER,
    spot_type       TEXT,
    estimate        TEXT,
    gross_rate      REAL NOT NULL DEFAULT 0,
    make_good       TEXT,
    spot_value      REAL,
    broadcast_month INTEGER NOT NULL,          -- YYYYMM
    month_label     TEXT NOT NULL,             -- 'Nov-26'
    broker_fees     REAL,
    priority        INTEGER,
    station_net     REAL,
    sales_person    TEXT,
    ae              TEXT NOT NULL,             -- upper-cased trimmed sales person, 'UNKNOWN' if blank
    revenue_type    TEXT NOT NULL REFERENCES revenue_types(name),
    billing_type    TEXT,
    agency_flag     TEXT,
    affidavit_flag  TEXT,
    contract        TEXT,
    market_code     TEXT REFERENCES markets(code),
    sheet_source    TEXT
);
CREATE INDEX spots_month ON spots (broadcast_month, revenue_type);
CREATE INDEX spots_customer_month ON spots (customer_id, broadcast_month);
CREATE INDEX spots_ae_month ON spots (ae, broadcast_month);

-- One row per spot: the outcome of the language step (DOMAIN.md §4).
CREATE TABLE spot_languages (
    spot_id        INTEGER PRIMARY KEY REFERENCES spots(id) ON DELETE CASCADE,
    category       TEXT NOT NULL,              -- language_assignment | review_category | default_english
    language_code  TEXT,                       -- the assigned language, NULL when undetermined
    status         TEXT NOT NULL,              -- assigned | default | undetermined | invalid
    needs_review   INTEGER NOT NULL DEFAULT 0,
    high_value     INTEGER NOT NULL DEFAULT 0  -- gross >= 1000
);
CREATE INDEX spot_languages_review ON spot_languages (needs_review) WHERE needs_review = 1;

CREATE TABLE budgets (
    ae              TEXT NOT NULL,             -- same key as spots.ae
    broadcast_month INTEGER NOT NULL,
    amount          REAL NOT NULL,
    PRIMARY KEY (ae, broadcast_month)
);

-- Reference data -------------------------------------------------------------------------------

INSERT INTO languages (code, name, language_group) VALUES
    ('E', 'English', 'English'),
    ('EN', 'English', 'English'),
    ('ENG', 'English', 'English'),
    ('M', 'Mandarin', 'Chinese'),
    ('C', 'Cantonese', 'Chinese'),
    ('M/C', 'Mandarin/Cantonese', 'Chinese'),
    ('T', 'Tagalog', 'Filipino'),
    ('V', 'Vietnamese', 'Vietnamese'),
    ('K', 'Korean', 'Korean'),
    ('J', 'Japanese', 'Japanese'),
    ('SA', 'South Asian', 'South Asian'),
    ('P', 'Punjabi', 'South Asian'),
    ('HM', 'Hmong', 'Hmong');

INSERT INTO markets (code, name) VALUES
    ('SEA', 'Seattle'),
    ('SFO', 'San Francisco'),
    ('LAX', 'Los Angeles'),
    ('NYC', 'New York'),
    ('HOU', 'Houston'),
    ('DAL', 'Dallas'),
    ('CVC', 'Central Valley'),
    ('CMP', 'Chicago/Minneapolis-St Paul'),
    ('CHI', 'Chicago'),
    ('MSP', 'Minneapolis'),
    ('WDC', 'Washington DC'),
    ('MMT', 'Multimarket'),
    ('ADMIN', 'Administrative');

INSERT INTO revenue_types (name, is_revenue) VALUES
    ('Internal Ad Sales', 1),
    ('Direct Response Sales', 1),
    ('Paid Programming', 1),
    ('Branded Content', 1),
    ('Services', 1),
    ('Other', 1),
    ('Trade', 0);

INSERT INTO sectors (code, name) VALUES
    ('AUTO', 'Automotive'),
    ('CPG', 'Consumer Packaged Goods'),
    ('FIN', 'Financial Services'),
    ('GOV', 'Government'),
    ('HEALTH', 'Healthcare'),
    ('INS', 'Insurance'),
    ('LEGAL', 'Legal Services'),
    ('MEDIA', 'Media & Entertainment'),
    ('OUTR', 'Outreach & Nonprofit'),
    ('QSR', 'Restaurants'),
    ('RE', 'Real Estate'),
    ('RETAIL', 'Retail'),
    ('TECH', 'Technology & Telecom'),
    ('TRAVEL', 'Travel & Casinos'),
    ('OTHER', 'Other'),
    ('CASINO', 'Casino & Gaming'),
    ('EDU', 'Education'),
    ('POL', 'Political');
-- v3: summary tables for the report pages, and a record of reference-data loads.
--
-- The revenue reports read these instead of scanning 1.5 M spots on every page. They are
-- rebuilt per broadcast month by `ctvdb.summaries.refresh_summaries(conn, months)`, which the
-- import calls inside its transaction for every month it replaces, so they are never behind.
-- NULL codes are stored as '' so they can be part of the primary key.

-- One row per month x customer x AE x revenue type x market.
CREATE TABLE customer_month_summary (
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    ae              TEXT NOT NULL,
    revenue_type    TEXT NOT NULL,
    market_code     TEXT NOT NULL,             -- '' when the spot has none
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    positive_spots  INTEGER NOT NULL,          -- spots with gross > 0 (monthly revenue summary)
    positive_gross  REAL NOT NULL,
    min_positive    REAL,                      -- smallest / largest gross > 0, NULL when none
    max_positive    REAL,
    PRIMARY KEY (broadcast_month, customer_id, ae, revenue_type, market_code)
) WITHOUT ROWID;
CREATE INDEX customer_month_summary_customer ON customer_month_summary (customer_id, broadcast_month);

-- One row per month x AE x market x language code x spot type x revenue type.
CREATE TABLE language_month_summary (
    broadcast_month INTEGER NOT NULL,
    ae              TEXT NOT NULL,
    market_code     TEXT NOT NULL,             -- '' when none
    language_code   TEXT NOT NULL,             -- '' when none
    spot_type       TEXT NOT NULL,             -- '' when none
    revenue_type    TEXT NOT NULL,
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    spot_value      REAL NOT NULL,             -- total of the spots' Spot Value (bonus spots too)
    PRIMARY KEY (broadcast_month, ae, market_code, language_code, spot_type, revenue_type)
) WITHOUT ROWID;

-- Every `ctvdb sectors load` / `ctvdb budgets load`: an audit trail, and part of the data
-- version the web cache is keyed by, so a new load shows at once.
CREATE TABLE reference_loads (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('sectors', 'budgets')),
    source_file TEXT NOT NULL,
    rows_loaded INTEGER NOT NULL,
    loaded_at   TEXT NOT NULL                  -- ISO UTC
);



-- Users, sessions and sign-in attempts live in a database file of their own beside this one
-- (auth_schema.sql, migration 0007), so that signing in never waits on an import's write.
-- v5: what keeps the customer page and the language review queue fast at 1.5 M spots.
--
-- customer_code_summary serves the customer page's language breakdown and bill codes without
-- reading the customer's spots (tens of thousands for a large account); review_month_summary
-- holds the review queue's counts. Both are rebuilt with the other summaries by
-- `ctvdb.summaries.refresh_summaries`. The partial index hands the queue its newest high-value
-- spots first without sorting a quarter of a million of them. v8 added its AE (an account
-- executive's view of a customer reads only their spots) and the language summary's spot value.
CREATE TABLE customer_code_summary (
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    ae              TEXT NOT NULL,
    bill_code       TEXT NOT NULL,
    language_code   TEXT NOT NULL,             -- '' when none
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    PRIMARY KEY (broadcast_month, customer_id, ae, bill_code, language_code)
) WITHOUT ROWID;
CREATE INDEX customer_code_summary_customer ON customer_code_summary (customer_id, broadcast_month);


-- One row per month x language status x category of the spots that need language review.
CREATE TABLE review_month_summary (
    broadcast_month INTEGER NOT NULL,
    status          TEXT NOT NULL,
    category        TEXT NOT NULL,
    spots           INTEGER NOT NULL,
    high_value      INTEGER NOT NULL,
    PRIMARY KEY (broadcast_month, status, category)
) WITHOUT ROWID;


CREATE INDEX spot_languages_review_queue ON spot_languages (high_value, spot_id) WHERE needs_review = 1;
-- v6: customer_month_summary without the market. A customer airs in several markets, so this
-- has a fifth of the rows; every revenue report that is not filtered by market reads it.
-- Rebuilt from customer_month_summary by `ctvdb.summaries.refresh_summaries`.
CREATE TABLE customer_total_summary (
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    ae              TEXT NOT NULL,
    revenue_type    TEXT NOT NULL,
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    positive_spots  INTEGER NOT NULL,
    positive_gross  REAL NOT NULL,
    min_positive    REAL,
    max_positive    REAL,
    PRIMARY KEY (broadcast_month, customer_id, ae, revenue_type)
) WITHOUT ROWID;
-- v11: spots and gross in the index too, so a customer's all-time totals are read from it alone
CREATE INDEX customer_total_summary_customer ON customer_total_summary (customer_id, broadcast_month, spots, gross);


-- v9: the customer workbench. Identity is decided by people (ctvdb/customers.py); the import only
-- proposes (DOMAIN.md §7).
--
-- Every normalised bill code ever seen, lower-cased in Python like the import does (SQLite's
-- lower() leaves accented capitals alone), and the customer its spots belong to: spots.customer_id
-- always equals the customer_id of its bill code here. A bill code whose customer has another
-- identity_key is an alias: a person pointed it there (an alias, a merge or a split), and every
-- later import follows it. bill_code is the spelling first seen, for display.
CREATE TABLE bill_codes (
    code_key    TEXT PRIMARY KEY,
    bill_code   TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id)
) WITHOUT ROWID;
CREATE INDEX bill_codes_customer ON bill_codes (customer_id);

-- The change log (ctvdb/changes.py): one row for every edit a person (or, reactivating a customer,
-- the import) makes, written in the edit's own transaction. before/after are JSON with what the
-- change replaced and what it set (bill-code mappings, columns, versions): shown as history, and
-- what an undo restores. An undo is a change of its own (undoes = the change it took back; that
-- change's undone_by = the undo). actor is the person's email, or 'import'.
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY,
    changed_at  TEXT NOT NULL,                 -- ISO UTC
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,                 -- alias, merge, split, rename, move, class, ...
    object_type TEXT NOT NULL,                 -- 'customer'
    object_id   INTEGER NOT NULL,              -- the customer the change is about (a merge's survivor)
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL,
    summary     TEXT NOT NULL,                 -- one sentence for a person
    undoes      INTEGER REFERENCES changes(id),
    undone_by   INTEGER REFERENCES changes(id)
);

-- Every object a change touched (a merge touches the survivor and each customer merged): a
-- customer's history, and who changed it last when a stale form is refused.
CREATE TABLE change_objects (
    object_type TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    change_id   INTEGER NOT NULL REFERENCES changes(id),
    PRIMARY KEY (object_type, object_id, change_id)
) WITHOUT ROWID;

-- v14: new and changed business (DOMAIN.md §8), kept by ctvdb/contracts.py after every import.
--
-- Every contract number (column 27, Notarize?) an import has seen, with the day it was first
-- seen: the import's day (its --today), the earliest when imports arrive out of order.
CREATE TABLE contracts_seen (
    contract   TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL,                  -- YYYY-MM-DD
    batch_id   INTEGER                         -- the import that first saw it
) WITHOUT ROWID;
CREATE INDEX contracts_seen_first_seen ON contracts_seen (first_seen);

-- Per import day, each contract's booked gross per broadcast month from that day's broadcast
-- month on: what a cancellation or reduction is measured between. A second import the same day
-- replaces its day; no other day is rewritten. customer_id is history (no foreign key): a
-- customer merged or split away since is followed through customers.merged_into when shown.
CREATE TABLE contract_snapshots (
    snapshot_date   TEXT NOT NULL,             -- YYYY-MM-DD, the import's day
    contract        TEXT NOT NULL,
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL,
    ae              TEXT NOT NULL,
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    PRIMARY KEY (snapshot_date, contract, broadcast_month, customer_id, ae)
) WITHOUT ROWID;
-- a contract's latest snapshot (the figures "contracts added" shows) without reading every day
CREATE INDEX contract_snapshots_contract ON contract_snapshots (contract, snapshot_date);

-- Waiting for copy: the few spots whose Media/Name/Program mentions copy, by air date, so the
-- next 14 days' are found without reading the months around them. A query uses this index only
-- when its WHERE repeats the index's condition word for word.
CREATE INDEX spots_copy ON spots (air_date) WHERE instr(upper(media), 'COPY') > 0;
-- v15: account signals (DOMAIN.md §8). Every import recomputes account_signals from the summaries
-- (ctvdb/signals.py, inside the import's transaction): one row per customer or agency and signal it
-- has today, with its figures. What people decided about a signal is signal_states, which no
-- import touches, so a snooze or a dismissal is never lost by one.
CREATE TABLE account_signals (
    object_type  TEXT NOT NULL CHECK (object_type IN ('customer', 'agency')),
    object_id    INTEGER NOT NULL,           -- customers.id or agencies.id
    signal       TEXT NOT NULL,              -- churned, declining, gone_quiet, new_account, growing, renewal_gap
    -- the AE it belongs to: the AE with the most gross in the trailing 12 months, else in all months
    -- (ties: the first by name); an agency's over all its customers' spots
    ae           TEXT NOT NULL,
    figures_json TEXT NOT NULL,              -- prior, trailing, ahead, lifetime, ... (signals.Figures)
    computed_on  TEXT NOT NULL,              -- the day the import counted as (its --today)
    -- the import this unbroken run of the signal began with, and its day: a dismissal holds for one
    -- run, so a signal that went away and came back (a new run) is shown again
    since_batch  INTEGER NOT NULL REFERENCES import_batches(id),
    since        TEXT NOT NULL,
    PRIMARY KEY (object_type, object_id, signal)
) WITHOUT ROWID;
CREATE INDEX account_signals_ae ON account_signals (ae, signal);

-- A person's decision about one signal of one customer or agency (ctvdb/signal_states.py): snoozed
-- until a day (hidden before it), dismissed with a reason (hidden while the run it was dismissed in
-- lasts), or open again. Its id is the change log's object id (object_type 'signal').
CREATE TABLE signal_states (
    id            INTEGER PRIMARY KEY,
    object_type   TEXT NOT NULL,
    object_id     INTEGER NOT NULL,
    signal        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'snoozed', 'dismissed')),
    snoozed_until TEXT,                      -- snoozed: hidden until this day (shown again on it)
    reason        TEXT,                      -- dismissed: why, in the person's words
    run_batch     INTEGER,                   -- dismissed: the since_batch of the run it was dismissed in
    changed_at    TEXT NOT NULL,             -- ISO UTC
    changed_by    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,   -- +1 on every change: a stale form is refused
    UNIQUE (object_type, object_id, signal)
);
-- v13: booking pace (DOMAIN.md §8). What was booked, as of each day, for the broadcast months
-- from that day's on: written after every completed import (ctvdb/snapshots.py) for the
-- import's day, replacing that day's rows only, or built from a saved daily workbook by
-- `ctvdb pace backfill`. Earlier days are never rewritten, so a month's booking curve, and this
-- month against the same month a year earlier as of the same day before it starts, can always be
-- read back. Month first in the key: the pace page reads one month's rows across many days.
CREATE TABLE booking_snapshots (
    broadcast_month INTEGER NOT NULL,
    snapshot_date   TEXT NOT NULL,             -- the day the import counted as (its --today)
    ae              TEXT NOT NULL,
    revenue_type    TEXT NOT NULL,
    market_code     TEXT NOT NULL,             -- '' when the spots have none
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,             -- rounded to the cent
    net             REAL NOT NULL,
    PRIMARY KEY (broadcast_month, snapshot_date, ae, revenue_type, market_code)
) WITHOUT ROWID;
-- A day's rows are replaced together (a second import that day).
CREATE INDEX booking_snapshots_day ON booking_snapshots (snapshot_date);

-- One row per day that has a snapshot: how it was made. batch_id is the import that took it,
-- NULL when `ctvdb pace backfill` built it from source_file.
CREATE TABLE snapshot_days (
    snapshot_date TEXT PRIMARY KEY,
    made_at       TEXT NOT NULL,               -- ISO UTC
    batch_id      INTEGER REFERENCES import_batches(id),
    source_file   TEXT NOT NULL
) WITHOUT ROWID;

-- v16: planning (DOMAIN.md §8). Budgets (table budgets, v2) and forecasts per AE x broadcast
-- month, and one history of every change to either: who, when, old -> new, and how it was made.
-- ctvdb/planning.py writes a cell and its history row in one transaction, so a cell's latest
-- history row is its version: a form drawn before it is stale for that cell, and the row says who
-- changed it. A forecast as it stood on a day is the last history row up to the end of that day.
CREATE TABLE forecasts (
    ae              TEXT NOT NULL,             -- same key as spots.ae
    broadcast_month INTEGER NOT NULL,
    amount          REAL NOT NULL,             -- the AE's expected final booked gross of the month
    PRIMARY KEY (ae, broadcast_month)
);

CREATE TABLE plan_history (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('budget', 'forecast')),
    ae              TEXT NOT NULL,
    broadcast_month INTEGER NOT NULL,
    old_amount      REAL,                      -- NULL: the cell had no amount before
    new_amount      REAL,                      -- NULL: the amount was cleared
    changed_by      TEXT NOT NULL,             -- an email, or what loaded a CSV
    changed_at      TEXT NOT NULL,             -- ISO UTC
    how             TEXT NOT NULL CHECK (how IN ('web', 'paste', 'csv'))
);
CREATE INDEX plan_history_cell ON plan_history (kind, broadcast_month, ae, id);

-- v17: every customer's all-time totals, one row each, for the resolution queue's order (it
-- ranks thousands of customers by gross on every page). Rebuilt from customer_total_summary by
-- `ctvdb.summaries.refresh_lifetimes`, which every summary refresh calls.
CREATE TABLE customer_lifetime_summary (
    customer_id     INTEGER PRIMARY KEY REFERENCES customers(id),
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    first_month     INTEGER NOT NULL,
    last_month      INTEGER NOT NULL
);

-- v18: rate analysis (DOMAIN.md §9, issue 14). The counted spots (gross > 0, not Trade, not bonus)
-- of each broadcast month, packed, for the rates pages (ctvdb/rate_summary.py says how): a year is
-- read as 12 rows and added up by numpy, never from spots, and a median or a quartile over a period
-- is exact, from (rate, spots) pairs. Built per month by the import (in its background process),
-- filled by ctvdb.db when this migration runs on a database with spots. Kept by bill code, whose
-- customer is looked up in bill_codes when read: the workbench's changes need no rebuild here.
--
-- rate_summary: the month's cube: spots by language, market, daypart, weekday/weekend, length,
-- revenue type, AE, bill code and exact unit rate (rate_summary.CUBE_DTYPE entries; names holds,
-- as JSON, what each coded column's numbers stand for).
CREATE TABLE rate_summary (
    broadcast_month INTEGER PRIMARY KEY,
    names           TEXT NOT NULL,
    entries         BLOB NOT NULL
);

-- rate_cut_summary: the cube added up by one cut (rate_summary.CUTS: a dimension, or a few
-- together) over every AE, CUT_DTYPE entries; names (JSON) the values and bill codes their
-- numbers stand for.
CREATE TABLE rate_cut_summary (
    cut             TEXT NOT NULL,
    broadcast_month INTEGER NOT NULL,
    names           TEXT NOT NULL,
    entries         BLOB NOT NULL,
    PRIMARY KEY (cut, broadcast_month)
) WITHOUT ROWID;

-- v22: rate_summary_stamps: each month's stamp, a random number drawn anew each time the month's
-- rows of both tables are stored, so a process keeps the arrays it decoded by (month, stamp).
CREATE TABLE rate_summary_stamps (
    broadcast_month INTEGER PRIMARY KEY,
    stamp           INTEGER NOT NULL
);

-- v19: accounts (issue 15): the address book of the workbench's customers and agencies (the same
-- ids), written only by people through ctvdb/accounts.py, never by an import. Rows stay on the
-- account they were entered on; an account's page reads them over every customer or agency merged
-- into it (customers.merged_into, agencies.merged_into), so a merge and its undo move nothing.
-- account_type is 'customer' or 'agency', account_id that table's id. Every write has its row in
-- the change log (object types customer_account, agency_account, contact, address, activity,
-- follow_up, saved_filter).
--
-- One row per account someone gave billing terms, an active flag or a version to (an account
-- without one has the defaults). commission_pct NULL: not set. Deactivated: hidden from the
-- accounts list by default, kept with its history (not the workbench's customers.active, which
-- the import turns back on when spots arrive).
CREATE TABLE accounts (
    account_type       TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id         INTEGER NOT NULL,
    po_required        INTEGER NOT NULL DEFAULT 0,
    edi_code           TEXT NOT NULL DEFAULT '',
    commission_pct     REAL CHECK (commission_pct BETWEEN 0 AND 100),
    affidavit_required INTEGER NOT NULL DEFAULT 0,
    invoice_notes      TEXT NOT NULL DEFAULT '',
    active             INTEGER NOT NULL DEFAULT 1,
    deactivated_at     TEXT,                   -- ISO UTC
    deactivated_by     TEXT,
    version            INTEGER NOT NULL DEFAULT 1,   -- +1 on every change: a stale form is refused
    PRIMARY KEY (account_type, account_id)
) WITHOUT ROWID;

-- A person at an account. Removed ones are kept (removed_at) so the activities with them still say
-- who they were with; the index holds the others (the list counts them without reading the rows). version: +1 on every change; a form carries the values it was drawn with and a
-- field changed since by someone else is refused by name (accounts.update_contact).
CREATE TABLE account_contacts (
    id           INTEGER PRIMARY KEY,
    account_type TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id   INTEGER NOT NULL,
    name         TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT 'other' CHECK (role IN ('decision_maker', 'billing', 'creative', 'other')),
    email        TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    notes        TEXT NOT NULL DEFAULT '',
    is_primary   INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    removed_at   TEXT,
    removed_by   TEXT,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX account_contacts_account ON account_contacts (account_type, account_id) WHERE removed_at IS NULL;

-- Billing and mailing addresses, several per account.
CREATE TABLE account_addresses (
    id           INTEGER PRIMARY KEY,
    account_type TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id   INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('billing', 'mailing')),
    line1        TEXT NOT NULL DEFAULT '',
    line2        TEXT NOT NULL DEFAULT '',
    city         TEXT NOT NULL DEFAULT '',
    region       TEXT NOT NULL DEFAULT '',
    postal_code  TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    removed_at   TEXT,
    removed_by   TEXT,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX account_addresses_account ON account_addresses (account_type, account_id);

-- Who owns an account from when to when: every assignment kept. effective_to is the last day
-- (inclusive), NULL while it lasts; a reassignment closes the open one the day before it starts.
CREATE TABLE account_assignments (
    id             INTEGER PRIMARY KEY,
    account_type   TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id     INTEGER NOT NULL,
    ae             TEXT NOT NULL,              -- the spots.ae key
    effective_from TEXT NOT NULL,              -- YYYY-MM-DD
    effective_to   TEXT,                       -- YYYY-MM-DD, NULL: open
    assigned_by    TEXT NOT NULL,
    assigned_at    TEXT NOT NULL               -- ISO UTC
);
CREATE INDEX account_assignments_account ON account_assignments (account_type, account_id, effective_from);

-- Calls, emails, meetings and notes: on what day, who logged it, what was said, with whom.
CREATE TABLE account_activities (
    id           INTEGER PRIMARY KEY,
    account_type TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id   INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'note')),
    happened_on  TEXT NOT NULL,                -- YYYY-MM-DD
    who          TEXT NOT NULL,                -- the person who logged it (an email)
    text         TEXT NOT NULL,
    contact_id   INTEGER REFERENCES account_contacts(id),
    logged_at    TEXT NOT NULL                 -- ISO UTC
);
CREATE INDEX account_activities_account ON account_activities (account_type, account_id, happened_on);

-- Follow-ups: owner is an AE key (upper case, as spots.ae) or a user's email.
CREATE TABLE account_follow_ups (
    id           INTEGER PRIMARY KEY,
    account_type TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id   INTEGER NOT NULL,
    due_on       TEXT NOT NULL,                -- YYYY-MM-DD
    owner        TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    done_at      TEXT,
    done_by      TEXT,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX account_follow_ups_account ON account_follow_ups (account_type, account_id, due_on);
-- an owner's open follow-ups by due day, and every open one for the overdue-by-AE table
CREATE INDEX account_follow_ups_open ON account_follow_ups (owner, due_on) WHERE done_at IS NULL;

-- A person's named filters of the accounts list: the query string as the list page took it.
CREATE TABLE account_saved_filters (
    id         INTEGER PRIMARY KEY,
    user_email TEXT NOT NULL,                  -- lower-cased
    name       TEXT NOT NULL,
    query      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_email, name)
);
-- v20 (issue 16): the revenue sheet's summary, one row per broadcast month x customer x AE x
-- revenue type x market x language code, so /api/v1/revenue/sheet reads a year in index order
-- (tens of thousands of rows) instead of grouping its hundreds of thousands of spots. Rebuilt with
-- the other summaries by `ctvdb.summaries.refresh_summaries`. (v19 is issue 15's, accounts.)
CREATE TABLE customer_language_summary (
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    ae              TEXT NOT NULL,
    revenue_type    TEXT NOT NULL,
    market_code     TEXT NOT NULL,             -- '' when the spot has none
    language_code   TEXT NOT NULL,             -- '' when none
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    PRIMARY KEY (broadcast_month, customer_id, ae, revenue_type, market_code, language_code)
) WITHOUT ROWID;
CREATE INDEX customer_language_summary_customer ON customer_language_summary (customer_id, broadcast_month);
