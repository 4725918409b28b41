"""`ctvdb`: one command with subcommands. Library errors become one clear line and exit 1.

Each area adds its subcommands with an `add_commands(subparsers)` function; the handler a
subcommand sets as `func` takes (args, config) and returns the exit status.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from ctvdb import config as config_module
from ctvdb import db
from ctvdb.console import CommandError, say_database


def cmd_init(args, config) -> int:
    say_database(config)
    version = db.init(config.database_path)
    print(f"Database {config.database_path} is ready at schema version {version}.")
    return 0


def cmd_migrate(args, config) -> int:
    say_database(config)
    conn = db.connect(config.database_path)
    try:
        before = db.current_version(conn)
        applied = db.migrate(conn)
    finally:
        conn.close()
    if applied:
        print(f"Migrated {config.database_path} from version {before}: applied {', '.join(applied)}.")
    else:
        print(f"Database {config.database_path} is already at schema version {before}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ctvdb import customers_cli, import_cli, months, sample, users
    from ctvdb import signals_cli
    from ctvdb import pace_cli
    from ctvdb import accounts_cli
    from ctvdb import tokens_cli   # issue 16, API tokens
    from ctvdb import adopt_cli    # issue 17, switching over from CTV BookedBiz DB
    from ctvdb.web import commands as web_commands

    parser = argparse.ArgumentParser(prog="ctvdb", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database file (default: $DATABASE_PATH or var/ctvdb.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create the database schema (or bring it up to date)")
    p.set_defaults(func=cmd_init)
    p = sub.add_parser("migrate", help="apply pending schema migrations to an existing database")
    p.set_defaults(func=cmd_migrate)

    sample.add_commands(sub)
    import_cli.add_commands(sub)
    months.add_commands(sub)
    groups = web_commands.add_commands(sub)
    users.add_commands(sub)
    customers_cli.add_commands(sub)
    customers_cli.add_sector_commands(groups["sectors"])
    signals_cli.add_commands(sub)
    pace_cli.add_commands(sub)
    accounts_cli.add_commands(sub)
    tokens_cli.add_commands(sub)
    adopt_cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_module.load().with_database(getattr(args, "db", None))
    try:
        return args.func(args, config)
    except (CommandError, db.DatabaseError) as exc:
        print(f"ctvdb: error: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"ctvdb: error: database {config.database_path}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ctvdb: interrupted; nothing was changed by the unfinished step.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
