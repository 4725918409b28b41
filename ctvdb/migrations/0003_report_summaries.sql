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

INSERT INTO customer_month_summary
SELECT broadcast_month, customer_id, ae, revenue_type, coalesce(market_code, ''),
       count(*), total(gross_rate), total(station_net),
       count(*) FILTER (WHERE gross_rate > 0), total(gross_rate) FILTER (WHERE gross_rate > 0),
       min(gross_rate) FILTER (WHERE gross_rate > 0), max(gross_rate) FILTER (WHERE gross_rate > 0)
FROM spots
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO language_month_summary
SELECT broadcast_month, ae, coalesce(market_code, ''), coalesce(language_code, ''),
       coalesce(spot_type, ''), revenue_type, count(*), total(gross_rate), total(station_net)
FROM spots
GROUP BY 1, 2, 3, 4, 5, 6;
