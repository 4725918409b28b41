-- v6: customer_month_summary without the market. A customer airs in several markets, so this
-- has a fifth of the rows; every revenue report that is not filtered by market reads it.
-- Rebuilt from customer_month_summary by `ctvdb.summaries.refresh_summaries`.
CREATE TABLE customer_total_summary (
    broadcast_month INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    ae              TEXT NOT NULL,
    revenue_type    TEXT NOT NULL,
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    net             REAL NOT NULL,
    positive_spots  INTEGER NOT NULL,
    positive_gross  REAL NOT NULL,
    min_positive    REAL,
    max_positive    REAL,
    PRIMARY KEY (broadcast_month, customer_id, ae, revenue_type)
) WITHOUT ROWID;
CREATE INDEX customer_total_summary_customer ON customer_total_summary (customer_id, broadcast_month);

INSERT INTO customer_total_summary
SELECT broadcast_month, customer_id, ae, revenue_type, sum(spots), total(gross), total(net),
       sum(positive_spots), total(positive_gross), min(min_positive), max(max_positive)
FROM customer_month_summary
GROUP BY 1, 2, 3, 4;
