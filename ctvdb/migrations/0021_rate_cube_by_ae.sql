-- v21: each month's rate cube (rate_summary, v18) in AE order, with names.ae_ends saying where each
-- AE's entries end, so an AE's own rates pages read only their slice of the stored array. No table
-- changes: ctvdb.db has ctvdb.rate_summary.sort_cubes rewrite the cubes stored before, in this
-- migration's transaction (the import stores them in that order from now on).
SELECT 1;
