-- v19: accounts (issue 15): the address book of the customers and agencies of the workbench (the
-- same ids), written only by people through ctvdb/accounts.py and never by an import. Rows stay on
-- the account they were entered on; an account's page reads them over every customer or agency
-- merged into it (customers.merged_into, agencies.merged_into), so a merge and its undo move nothing.
-- account_type is 'customer' or 'agency', account_id that table's id. See schema.sql for the columns.
CREATE TABLE accounts (
    account_type       TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id         INTEGER NOT NULL,
    po_required        INTEGER NOT NULL DEFAULT 0,
    edi_code           TEXT NOT NULL DEFAULT '',
    commission_pct     REAL CHECK (commission_pct BETWEEN 0 AND 100),
    affidavit_required INTEGER NOT NULL DEFAULT 0,
    invoice_notes      TEXT NOT NULL DEFAULT '',
    active             INTEGER NOT NULL DEFAULT 1,
    deactivated_at     TEXT,
    deactivated_by     TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_type, account_id)
) WITHOUT ROWID;

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

CREATE TABLE account_assignments (
    id             INTEGER PRIMARY KEY,
    account_type   TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id     INTEGER NOT NULL,
    ae             TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    assigned_by    TEXT NOT NULL,
    assigned_at    TEXT NOT NULL
);
CREATE INDEX account_assignments_account ON account_assignments (account_type, account_id, effective_from);

CREATE TABLE account_activities (
    id           INTEGER PRIMARY KEY,
    account_type TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id   INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'note')),
    happened_on  TEXT NOT NULL,
    who          TEXT NOT NULL,
    text         TEXT NOT NULL,
    contact_id   INTEGER REFERENCES account_contacts(id),
    logged_at    TEXT NOT NULL
);
CREATE INDEX account_activities_account ON account_activities (account_type, account_id, happened_on);

CREATE TABLE account_follow_ups (
    id           INTEGER PRIMARY KEY,
    account_type TEXT NOT NULL CHECK (account_type IN ('customer', 'agency')),
    account_id   INTEGER NOT NULL,
    due_on       TEXT NOT NULL,
    owner        TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    done_at      TEXT,
    done_by      TEXT,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX account_follow_ups_account ON account_follow_ups (account_type, account_id, due_on);
CREATE INDEX account_follow_ups_open ON account_follow_ups (owner, due_on) WHERE done_at IS NULL;

CREATE TABLE account_saved_filters (
    id         INTEGER PRIMARY KEY,
    user_email TEXT NOT NULL,
    name       TEXT NOT NULL,
    query      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_email, name)
);
