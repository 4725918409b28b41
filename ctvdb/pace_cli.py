"""`ctvdb pace backfill WORKBOOK…`: booking snapshots for the days before they were kept, built
from saved daily workbooks (ctvdb/backfill.py). Progress goes to stderr, one line of outcome to
stdout. A workbook that cannot be read is skipped (named on stderr, nothing written for it) and
the others are built: the run then exits 1, so a script sees that a day is missing."""

from __future__ import annotations

import sys
from pathlib import Path

from ctvdb import backfill, db
from ctvdb.console import CommandError, say_database


def add_commands(sub) -> None:
    group = sub.add_parser("pace", help="booking pace: build snapshot history from saved daily workbooks")
    commands = group.add_subparsers(dest="pace_command", required=True, metavar="ACTION")
    p = commands.add_parser("backfill", help="build the snapshot of each workbook's day (date in its name)",
                            description=backfill.__doc__.splitlines()[0])
    p.add_argument("workbooks", nargs="+", type=Path, metavar="WORKBOOK",
                   help="a Commercial Log .xlsx, or a directory of them")
    p.add_argument("--replace", action="store_true", help="rebuild days that already have a snapshot")
    p.set_defaults(func=cmd_backfill)


def cmd_backfill(args, config) -> int:
    say_database(config)
    conn = db.connect(config.database_path)
    try:
        db.ensure_current(conn)
        outcome = backfill.backfill(conn, args.workbooks, replace=args.replace,
                                    progress=lambda line: print(line, file=sys.stderr, flush=True))
    except backfill.BackfillError as exc:
        raise CommandError(str(exc)) from None
    finally:
        conn.close()
    for sentence in outcome.bad:
        print(f"ctvdb: skipped {sentence}", file=sys.stderr)
    text = outcome.summary()
    print(text[0].upper() + text[1:] + ".")
    return 1 if outcome.bad else 0
