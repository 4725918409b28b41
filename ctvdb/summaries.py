"""Summary tables the report pages read instead of scanning every spot.

`refresh_summaries(conn, months)` rebuilds the summaries of the given broadcast months from
`spots` and `spot_languages`. The import calls it inside its own transaction, after writing both,
for every month it replaced (or deleted), so a report never sees a summary that disagrees with
the spots. Anything else that changes spots or their language outcome must call it too. Migration 0003 builds
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

_CUSTOMER_CODE = """
INSERT INTO customer_code_summary
SELECT broadcast_month, customer_id, bill_code, coalesce(language_code, ''),
       count(*), total(gross_rate), total(station_net)
FROM spots
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4
"""

_REVIEW_MONTH = """
INSERT INTO review_month_summary
SELECT s.broadcast_month, sl.status, sl.category, count(*), total(sl.high_value)
FROM spots s JOIN spot_languages sl ON sl.spot_id = s.id
WHERE s.broadcast_month = ? AND sl.needs_review = 1
GROUP BY 1, 2, 3
"""

_CUSTOMER_TOTAL = """
INSERT INTO customer_total_summary
SELECT broadcast_month, customer_id, ae, revenue_type, sum(spots), total(gross), total(net),
       sum(positive_spots), total(positive_gross), min(min_positive), max(max_positive)
FROM customer_month_summary
WHERE broadcast_month = ?
GROUP BY 1, 2, 3, 4
"""

# In refresh order: customer_total_summary is built from customer_month_summary.
TABLES = {"customer_month_summary": _CUSTOMER_MONTH, "customer_total_summary": _CUSTOMER_TOTAL,
          "language_month_summary": _LANGUAGE_MONTH,
          "customer_code_summary": _CUSTOMER_CODE, "review_month_summary": _REVIEW_MONTH}


def refresh_summaries(conn: sqlite3.Connection, months: Iterable[int]) -> None:
    """Rebuild the summaries of `months` (YYYYMM integers). Runs in the caller's transaction.

    A month with no spots left simply ends up with no summary rows.
    """
    for month in sorted(set(int(m) for m in months)):
        for table, insert in TABLES.items():
            conn.execute(f"DELETE FROM {table} WHERE broadcast_month = ?", (month,))
            conn.execute(insert, (month,))


def refresh_all(conn: sqlite3.Connection) -> list[int]:
    """Rebuild every month's summaries (a repair tool; the import refreshes only what it changed)."""
    months = [r[0] for r in conn.execute(
        "SELECT broadcast_month FROM spots GROUP BY broadcast_month "
        "UNION SELECT broadcast_month FROM customer_month_summary"
    )]
    refresh_summaries(conn, months)
    return months
