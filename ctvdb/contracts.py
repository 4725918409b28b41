"""New and changed business (DOMAIN.md §8): what every completed import keeps about contracts.

Inside the import's own transaction, after the spots and summaries are written, `after_import`
takes the day's snapshot of every contract's booked gross per broadcast month, from the day's
broadcast month on, and remembers each contract number seen for the first time. The web side
(ctvdb/web/queries/business.py) finds contracts added, cancellations and reductions in them.

Only the months from today's broadcast month on are read, through the spots' month index: the
business still to air. A contract whose spots are all in earlier months is history rather than
new business, so a monthly close (which replaces past months) adds none.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from ctvdb import codes


def after_import(conn: sqlite3.Connection, today: dt.date, batch_id: int) -> None:
    day = today.isoformat()
    # A second import the same day replaces that day's snapshot; no other day is touched.
    conn.execute("DELETE FROM contract_snapshots WHERE snapshot_date = ?", (day,))
    conn.execute(
        "INSERT INTO contract_snapshots (snapshot_date, contract, broadcast_month, customer_id, ae, spots, gross)"
        " SELECT ?, contract, broadcast_month, customer_id, ae, count(*), total(gross_rate) FROM spots"
        " WHERE broadcast_month >= ? AND contract <> ''"
        " GROUP BY contract, broadcast_month, customer_id, ae", (day, codes.broadcast_month(today)))
    # First seen = the earliest day an import saw it, so that workbooks imported out of date
    # order (a backfill of saved daily logs) still date each contract by its first appearance.
    conn.execute(
        "INSERT INTO contracts_seen (contract, first_seen, batch_id)"
        " SELECT DISTINCT contract, ?, ? FROM contract_snapshots WHERE snapshot_date = ?"
        " ON CONFLICT (contract) DO UPDATE SET first_seen = excluded.first_seen, batch_id = excluded.batch_id"
        " WHERE excluded.first_seen < contracts_seen.first_seen", (day, batch_id, day))
