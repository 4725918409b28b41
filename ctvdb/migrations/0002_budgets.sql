-- v2: budgets per AE and broadcast month (management performance report) and a partial index
-- that keeps the language review queue cheap at 1.5 M spots.
CREATE TABLE budgets (
    ae              TEXT NOT NULL,
    broadcast_month INTEGER NOT NULL,
    amount          REAL NOT NULL,
    PRIMARY KEY (ae, broadcast_month)
);
CREATE INDEX spot_languages_review ON spot_languages (needs_review) WHERE needs_review = 1;
