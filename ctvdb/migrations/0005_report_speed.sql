-- v5: what keeps the customer page and the language review queue fast at 1.5 M spots.
--
-- customer_code_summary serves the customer page's language breakdown and bill codes without
-- reading the customer's spots (tens of thousands for a large account); review_month_summary
-- holds the review queue's counts. Both are rebuilt with the other summaries by
-- `ctvdb.summaries.refresh_summaries`. The partial index hands the queue its newest high-value
-- spots first without sorting a quarter of a million of them.
CREATE TABLE customer_code_summary (
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    bill_code       TEXT NOT NULL,
    language_code   TEXT NOT NULL,             -- '' when none
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    PRIMARY KEY (broadcast_month, customer_id, bill_code, language_code)
) WITHOUT ROWID;
CREATE INDEX customer_code_summary_customer ON customer_code_summary (customer_id, broadcast_month);

INSERT INTO customer_code_summary
SELECT broadcast_month, customer_id, bill_code, coalesce(language_code, ''),
       count(*), total(gross_rate), total(station_net)
FROM spots
GROUP BY 1, 2, 3, 4;

-- One row per month x language status x category of the spots that need language review.
CREATE TABLE review_month_summary (
    broadcast_month INTEGER NOT NULL,
    status          TEXT NOT NULL,
    category        TEXT NOT NULL,
    spots           INTEGER NOT NULL,
    high_value      INTEGER NOT NULL,
    PRIMARY KEY (broadcast_month, status, category)
) WITHOUT ROWID;

INSERT INTO review_month_summary
SELECT s.broadcast_month, sl.status, sl.category, count(*), total(sl.high_value)
FROM spot_languages sl JOIN spots s ON s.id = sl.spot_id
WHERE sl.needs_review = 1
GROUP BY 1, 2, 3;

CREATE INDEX spot_languages_review_queue ON spot_languages (high_value, spot_id) WHERE needs_review = 1;
