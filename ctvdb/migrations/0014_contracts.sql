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

-- A database that held spots before this migration would see every contract "first seen" at its
-- next import: they count as seen on the day of the batch that brought them.
INSERT INTO contracts_seen (contract, first_seen, batch_id)
SELECT s.contract, date(min(b.started_at)), b.id   -- b.id: of the row with min(), as SQLite picks
FROM spots s JOIN import_batches b ON b.id = s.batch_id
WHERE s.contract IS NOT NULL AND s.contract <> ''
GROUP BY s.contract;
