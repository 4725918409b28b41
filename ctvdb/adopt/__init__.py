"""`ctvdb adopt` (issue 17): bring a running CTV BookedBiz DB station's data into ctvdb, and prove
by reconciliation that nothing was lost. See ctvdb/adopt_cli.py for the command."""
