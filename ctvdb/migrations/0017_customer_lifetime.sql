-- v17: every customer's all-time totals, one row each: the resolution queue orders thousands of
-- customers by gross on every page, and reading them from customer_total_summary took a scan of
-- its whole customer index per page. Rebuilt from customer_total_summary by
-- `ctvdb.summaries.refresh_lifetimes`, which every summary refresh calls.
CREATE TABLE customer_lifetime_summary (
    customer_id     INTEGER PRIMARY KEY REFERENCES customers(id),
    spots           INTEGER NOT NULL,
    gross           REAL NOT NULL,
    first_month     INTEGER NOT NULL,
    last_month      INTEGER NOT NULL
);
INSERT INTO customer_lifetime_summary
SELECT customer_id, sum(spots), total(gross), min(broadcast_month), max(broadcast_month)
FROM customer_total_summary GROUP BY customer_id;
