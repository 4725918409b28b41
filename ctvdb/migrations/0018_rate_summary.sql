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
