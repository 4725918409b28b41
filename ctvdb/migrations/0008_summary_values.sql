-- v8: the language summary keeps the spots' value (column 17, Spot Value) beside their gross,
-- because a bonus spot is booked at no charge and only its value says what was given away; the
-- customer page's summary by bill code and language gains the AE, so an account executive's view
-- of a customer shows only their own spots. Both are rebuilt from the spots here, and then per
-- month by `ctvdb.summaries.refresh_summaries` like every summary.
DROP TABLE language_month_summary;
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
    spot_value      REAL NOT NULL,             -- total of the spots' Spot Value (bonus spots too)
    PRIMARY KEY (broadcast_month, ae, market_code, language_code, spot_type, revenue_type)
) WITHOUT ROWID;

INSERT INTO language_month_summary
SELECT broadcast_month, ae, coalesce(market_code, ''), coalesce(language_code, ''),
       coalesce(spot_type, ''), revenue_type, count(*), total(gross_rate), total(station_net),
       total(spot_value)
FROM spots
GROUP BY 1, 2, 3, 4, 5, 6;

DROP TABLE customer_code_summary;
CREATE TABLE customer_code_summary (
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    ae              TEXT NOT NULL,
    bill_code       TEXT NOT NULL,
    language_code   TEXT NOT NULL,             -- '' when none
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    PRIMARY KEY (broadcast_month, customer_id, ae, bill_code, language_code)
) WITHOUT ROWID;
CREATE INDEX customer_code_summary_customer ON customer_code_summary (customer_id, broadcast_month);

INSERT INTO customer_code_summary
SELECT broadcast_month, customer_id, ae, bill_code, coalesce(language_code, ''),
       count(*), total(gross_rate), total(station_net)
FROM spots
GROUP BY 1, 2, 3, 4, 5;
