-- v17: rate analysis (DOMAIN.md §9, issue 14). The counted spots (gross > 0, not Trade, not bonus)
-- by everything the rates pages break a rate down by, and by the exact unit rate: a median or a
-- quartile over a period is a walk over (rate, spots) pairs in rate order, exact without reading
-- the spots. Rebuilt per month with the other summaries (ctvdb.summaries, from ctvdb.rates' rules)
-- and per customer by the workbench. daypart is a key of ctvdb.rates.DAYPARTS ('' = no time),
-- weekend 1 for Saturday and Sunday, length_seconds 0 when the spot has no length.
CREATE TABLE rate_summary (
    broadcast_month INTEGER NOT NULL,
    language_code   TEXT NOT NULL,             -- '' when none
    market_code     TEXT NOT NULL,             -- '' when none
    daypart         TEXT NOT NULL,
    weekend         INTEGER NOT NULL,
    length_seconds  INTEGER NOT NULL,
    revenue_type    TEXT NOT NULL,
    ae              TEXT NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    gross_rate      REAL NOT NULL,             -- the unit rate
    spots           INTEGER NOT NULL,
    PRIMARY KEY (broadcast_month, language_code, market_code, daypart, weekend, length_seconds, revenue_type, ae,
                 customer_id, gross_rate)
) WITHOUT ROWID;
-- an AE's own rates, and the workbench's rebuild of a customer's rows, without reading every month
CREATE INDEX rate_summary_ae ON rate_summary (ae, broadcast_month, spots);
CREATE INDEX rate_summary_customer ON rate_summary (customer_id, broadcast_month);

-- The first build, for a database that already holds spots: the same SELECT as
-- ctvdb.summaries' (its daypart and weekend expressions are those ctvdb.rates generates).
INSERT INTO rate_summary
SELECT broadcast_month, coalesce(language_code, ''), coalesce(market_code, ''),
       CASE WHEN time_in GLOB '[0-2][0-9]:[0-5][0-9]*' THEN CASE substr(time_in, 1, 2) WHEN '00' THEN 'late_fringe' WHEN '01' THEN 'overnight' WHEN '02' THEN 'overnight' WHEN '03' THEN 'overnight' WHEN '04' THEN 'overnight' WHEN '05' THEN 'early_morning' WHEN '06' THEN 'early_morning' WHEN '07' THEN 'early_morning' WHEN '08' THEN 'early_morning' WHEN '09' THEN 'daytime' WHEN '10' THEN 'daytime' WHEN '11' THEN 'daytime' WHEN '12' THEN 'daytime' WHEN '13' THEN 'daytime' WHEN '14' THEN 'daytime' WHEN '15' THEN 'daytime' WHEN '16' THEN 'early_fringe' WHEN '17' THEN 'early_fringe' WHEN '18' THEN 'early_fringe' WHEN '19' THEN 'prime_access' WHEN '20' THEN 'prime' WHEN '21' THEN 'prime' WHEN '22' THEN 'prime' WHEN '23' THEN 'late_fringe' ELSE '' END ELSE '' END,
       CASE upper(substr(trim(day_of_week, ' '), 1, 3)) WHEN 'MON' THEN 0 WHEN 'TUE' THEN 0 WHEN 'WED' THEN 0 WHEN 'THU' THEN 0 WHEN 'FRI' THEN 0 WHEN 'SAT' THEN 1 WHEN 'SUN' THEN 1 ELSE coalesce(strftime('%w', air_date) IN ('0', '6'), 0) END,
       coalesce(length_seconds, 0), revenue_type, ae, customer_id, gross_rate, count(*)
FROM spots
WHERE gross_rate > 0 AND revenue_type <> 'Trade' AND coalesce(spot_type, '') <> 'BNS'
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
