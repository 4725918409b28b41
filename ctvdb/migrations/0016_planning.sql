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
