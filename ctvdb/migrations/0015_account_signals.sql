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
