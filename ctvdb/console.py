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
