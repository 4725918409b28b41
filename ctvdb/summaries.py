"""Summary tables the report pages read instead of scanning every spot.

`refresh_summaries(conn, months)` rebuilds the summaries of the given broadcast months from
`spots`. The import calls it inside its own transaction for every month it replaced (or
deleted), so a report never sees a summary that disagrees with the spots. Migration 0003 builds
them once for a database that already holds spots.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

_CUSTOMER_MONTH = """
INSERT INTO customer_month_summary
SELECT broadcast_month, customer_id, ae, revenue_type, coalesce(market_code, ''),
       count(*), total(gross_rate), total(station_net),
       count(*) FILTER (WHERE gross_rate > 0), total(gross_rate) FILTER (WHERE gross_rate > 0),
       min(gross_rate) FILTER (WHERE gross_rate > 0), max(gross_rate) FILTER (WHERE gross_rate > 0)
FROM spots
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4, 5
"""

_LANGUAGE_MONTH = """
INSERT INTO language_month_summary
SELECT broadcast_month, ae, coalesce(market_code, ''), coalesce(language_code, ''),
       coalesce(spot_type, ''), revenue_type, count(*), total(gross_rate), total(station_net)
FROM spots
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4, 5, 6
"""


def refresh_summaries(conn: sqlite3.Connection, months: Iterable[int]) -> None:
    """Rebuild the summaries of `months` (YYYYMM integers). Runs in the caller's transaction.

    A month with no spots left simply ends up with no summary rows.
    """
    for month in sorted(set(int(m) for m in months)):
        conn.execute("DELETE FROM customer_month_summary WHERE broadcast_month = ?", (month,))
        conn.execute("DELETE FROM language_month_summary WHERE broadcast_month = ?", (month,))
        conn.execute(_CUSTOMER_MONTH, (month,))
        conn.execute(_LANGUAGE_MONTH, (month,))


def refresh_all(conn: sqlite3.Connection) -> list[int]:
    """Rebuild every month's summaries (a repair tool; the import refreshes only what it changed)."""
    months = [r[0] for r in conn.execute(
        "SELECT broadcast_month FROM spots GROUP BY broadcast_month "
        "UNION SELECT broadcast_month FROM customer_month_summary"
    )]
    refresh_summaries(conn, months)
    return months
