-- v18: rate analysis (DOMAIN.md §9, issue 14). Two summaries of the counted spots (gross > 0, not
-- Trade, not bonus), built per broadcast month by ctvdb.summaries from ctvdb.rates' rules (in
-- Python, in the import's background process), so the rates pages read neither spots nor a sort.
-- The migration only makes the tables: ctvdb.db fills them for a database that holds spots.
--
-- rate_summary: the counted spots by everything a rate is filtered by, and by the exact unit rate,
-- for the drill-down (?language=V&market=HOU&daypart=prime): a median or quartile over a period is
-- a walk over (rate, spots) pairs in rate order, exact without reading the spots. daypart is a key
-- of ctvdb.rates.DAYPARTS ('' = no time), weekend 1 for Saturday and Sunday, length_seconds 0 for
-- a spot with no length.
CREATE TABLE rate_summary (
    broadcast_month INTEGER NOT NULL,
    language_code   TEXT NOT NULL,             -- '' when none
    market_code     TEXT NOT NULL,             -- '' when none
    daypart         TEXT NOT NULL,
    weekend         INTEGER NOT NULL,
    length_seconds  INTEGER NOT NULL,
    revenue_type    TEXT NOT NULL,
    ae              TEXT NOT NULL,
    customer_id     INTEGER NOT NULL,
    gross_rate      REAL NOT NULL,             -- the unit rate
    spots           INTEGER NOT NULL,
    PRIMARY KEY (broadcast_month, language_code, market_code, daypart, weekend, length_seconds, revenue_type, ae,
                 customer_id, gross_rate)
) WITHOUT ROWID;
CREATE INDEX rate_summary_customer ON rate_summary (customer_id);

-- rate_cut_summary: rate_summary added up by one cut (ctvdb.rates.CUTS: a dimension, or a few
-- together) over every AE, so the company's pages without drill filters read a few thousand rows
-- (an AE's own read rate_summary). A cut by rate keeps gross_rate (its medians are
-- exact); a cut without keeps 0.
-- value is the cut's key as text, its parts joined by ctvdb.rates.SEP; customer_id is the
-- customer of the customer cuts (0 for the others).
CREATE TABLE rate_cut_summary (
    cut             TEXT NOT NULL,
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL,
    value           TEXT NOT NULL,
    gross_rate      REAL NOT NULL,
    spots           INTEGER NOT NULL,
    revenue         REAL NOT NULL,
    timed_spots     INTEGER NOT NULL,          -- the spots with a length
    timed_revenue   REAL NOT NULL,
    seconds         INTEGER NOT NULL,
    PRIMARY KEY (cut, broadcast_month, customer_id, value, gross_rate)
) WITHOUT ROWID;
CREATE INDEX rate_cut_customer ON rate_cut_summary (customer_id) WHERE customer_id > 0;
