"""What every completed import keeps besides the spots (DOMAIN.md §8): the day's booking
snapshot, the contracts it saw, and the account signals. Each step runs inside the import's
own transaction, after the summaries are right, so it lands (or fails) with the import."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time


def run(conn: sqlite3.Connection, today: dt.date, batch_id: int) -> dict[str, float]:
    """Run the steps; the seconds each took, which the import's summary reports (issue 13 allows
    them 10 % of an import)."""
    from ctvdb import contracts, signals, snapshots

    seconds = {}
    for name, step in (("snapshots", snapshots.after_import), ("contracts", contracts.after_import),
                       ("signals", signals.after_import)):
        began = time.perf_counter()
        step(conn, today, batch_id)
        seconds[name] = round(time.perf_counter() - began, 3)
    return seconds
