-- v20 (issue 16): the revenue sheet's summary, one row per broadcast month x customer x AE x
-- revenue type x market x language code, so /api/v1/revenue/sheet reads a year in index order
-- (tens of thousands of rows) instead of grouping its hundreds of thousands of spots. Rebuilt with
-- the other summaries by `ctvdb.summaries.refresh_summaries`; built here once from the spots.
-- (0019 is issue 15's, accounts.)
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
INSERT INTO customer_language_summary
SELECT broadcast_month, customer_id, ae, revenue_type, coalesce(market_code, ''), coalesce(language_code, ''),
       count(*), total(gross_rate), total(station_net)
FROM spots
GROUP BY 1, 2, 3, 4, 5, 6;
