-- v22: each month's rate summaries get a stamp, a random number drawn anew every time the month's
-- rows are stored (ctvdb.rate_summary.store_computed), so a process that has read and decoded a
-- month's arrays keeps them by (month, stamp) and reads them again only after they change: the
-- nightly import rewrites the months its workbook holds, not the years before them.
CREATE TABLE rate_summary_stamps (
    broadcast_month INTEGER PRIMARY KEY,
    stamp           INTEGER NOT NULL
);
INSERT INTO rate_summary_stamps (broadcast_month, stamp)
SELECT broadcast_month, random() FROM (SELECT broadcast_month FROM rate_summary
                                       UNION SELECT broadcast_month FROM rate_cut_summary);
