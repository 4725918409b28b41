"""What every command shares: the one-line error and the line that names the database.

Command modules (months, users, web.commands, the import) import this, and `cli` imports them,
so the dependency runs one way.
"""

from __future__ import annotations

import sys


class CommandError(Exception):
    """A command that cannot do what was asked; the message is shown as one line."""


def say_database(config) -> None:
    """Every command says which database it uses (on stderr, so stdout stays clean for data)."""
    print(f"ctvdb: database {config.database_path}", file=sys.stderr)


def print_columns(rows: list[tuple[str, ...]]) -> None:
    """Rows of text (a heading first) as columns two spaces apart, each as wide as its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
