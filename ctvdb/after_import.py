"""What every completed import keeps besides the spots (DOMAIN.md §8): the day's booking
snapshot, the contracts it saw, and the account signals. Each step runs inside the import's
own transaction, after the summaries are right, so it lands (or fails) with the import."""

from __future__ import annotations

import datetime as dt
import sqlite3


def run(conn: sqlite3.Connection, today: dt.date, batch_id: int) -> None:
    from ctvdb import contracts, signals, snapshots

    for step in (snapshots.after_import, contracts.after_import, signals.after_import):
        step(conn, today, batch_id)
