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
