"""Broadcast months: which are closed (immutable) and what they hold.

`ctvdb months list` shows every month with spots or a closure; `ctvdb months close Nov-26 --by
NAME` records a monthly close from the command line (the historical import does the same after
loading the accounting recap).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from ctvdb import codes, db
from ctvdb.console import CommandError, say_database


@dataclass(frozen=True)
class MonthStatus:
    month: int
    spots: int
    gross: float
    closed_at: str | None
    closed_by: str | None

    @property
    def label(self) -> str:
        return codes.month_label(self.month)

    @property
    def status(self) -> str:
        return "CLOSED" if self.closed_at else "OPEN"


def list_months(conn: sqlite3.Connection) -> list[MonthStatus]:
    rows = conn.execute(
        """
        WITH figures AS (
            SELECT broadcast_month, count(*) AS spots, total(gross_rate) AS gross
            FROM spots GROUP BY broadcast_month
        ), months AS (
            SELECT broadcast_month FROM figures UNION SELECT broadcast_month FROM month_closures
        )
        SELECT m.broadcast_month, coalesce(f.spots, 0), coalesce(f.gross, 0), c.closed_at, c.closed_by
        FROM months m
        LEFT JOIN figures f USING (broadcast_month)
        LEFT JOIN month_closures c USING (broadcast_month)
        ORDER BY m.broadcast_month
        """
    )
    return [MonthStatus(*row) for row in rows]


def close_months(conn: sqlite3.Connection, months: list[int], closed_by: str) -> list[int]:
    """Record the months closed; returns those that were not closed before."""
    if not closed_by.strip():
        raise CommandError("say who closes the month (--by NAME)")
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    newly = []
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for month in months:
            cur = conn.execute(
                "INSERT INTO month_closures (broadcast_month, closed_at, closed_by) VALUES (?, ?, ?) "
                "ON CONFLICT (broadcast_month) DO NOTHING", (month, now, closed_by.strip()))
            if cur.rowcount:
                newly.append(month)
    return newly


def _parse_months(labels: list[str]) -> list[int]:
    months = []
    for label in labels:
        try:
            months.append(codes.parse_month_label(label))
        except ValueError:
            raise CommandError(f"{label!r} is not a broadcast month like Nov-26") from None
    return months


def cmd_list(args, config) -> int:
    say_database(config)
    conn = db.connect_readonly(config.database_path)
    try:
        months = list_months(conn)
    finally:
        conn.close()
    print(f"{'month':<8} {'status':<7} {'spots':>9} {'gross':>16}  closed")
    for m in months:
        closed = f"{m.closed_at} by {m.closed_by}" if m.closed_at else ""
        print(f"{m.label:<8} {m.status:<7} {m.spots:>9,} {m.gross:>16,.2f}  {closed}")
    print(f"{len(months)} months, {sum(m.status == 'CLOSED' for m in months)} closed.")
    return 0


def cmd_close(args, config) -> int:
    say_database(config)
    months = _parse_months(args.months)
    conn = db.connect(config.database_path)
    try:
        newly = close_months(conn, months, args.by)
    finally:
        conn.close()
    already = [m for m in months if m not in newly]
    text = f"Closed {', '.join(codes.month_label(m) for m in newly) or 'no months'} (by {args.by.strip()})"
    if already:
        text += f"; already closed: {', '.join(codes.month_label(m) for m in already)}"
    print(text + ".")
    return 0


def add_commands(sub) -> None:
    months = sub.add_parser("months", help="list broadcast months, close a month")
    months_sub = months.add_subparsers(dest="months_command", required=True, metavar="ACTION")
    p = months_sub.add_parser("list", help="every month: OPEN/CLOSED, spots, gross")
    p.set_defaults(func=cmd_list)
    p = months_sub.add_parser("close", help="record months as closed (immutable to daily imports)")
    p.add_argument("months", nargs="+", metavar="Mmm-YY")
    p.add_argument("--by", required=True, help="who closes the month")
    p.set_defaults(func=cmd_close)
