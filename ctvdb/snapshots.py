"""Placeholder: filled in by issue 13's snapshots step."""

import datetime as dt
import sqlite3


def after_import(conn: sqlite3.Connection, today: dt.date, batch_id: int) -> None:
    return None
