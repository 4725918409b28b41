"""`ctvdb adopt SOURCE.db [--db TARGET] [--dry-run] [--replace] [--report FILE]` (issue 17).

Brings a CTV BookedBiz DB database (a copy taken with `sqlite3 production.db ".backup copy.db"`)
into a new or empty ctvdb database and prints the reconciliation; the library is ctvdb/adopt/.
Progress is a bar on a terminal and plain lines otherwise; the last line says what happened, and
the exit status is 0 when adopted (or planned, with --dry-run), 1 when not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ctvdb.console import say_database


def add_commands(sub) -> None:
    p = sub.add_parser("adopt", help="bring a CTV BookedBiz DB database into a new ctvdb database, "
                                     "reconciled to the cent")
    p.add_argument("source", help="the CTV BookedBiz DB file (opened read-only, never changed)")
    p.add_argument("--db", default=argparse.SUPPRESS,
                   help="the ctvdb database to create (default: $DATABASE_PATH or var/ctvdb.db)")
    p.add_argument("--dry-run", action="store_true",
                   help="do all of it into a temporary database, print the report, write nothing")
    p.add_argument("--replace", action="store_true", help="replace a target that already holds spots")
    p.add_argument("--report", help="write the reconciliation as JSON to this file")
    p.set_defaults(func=run)


def _progress(interactive: bool):
    from ctvdb.import_cli import ProgressBar

    if interactive:
        return ProgressBar()
    last = {}

    def plain(stage: str, done: int, total: int) -> None:
        step = max(total // 10, 1)
        if last.get(stage) is None or done >= total or done // step != last[stage] // step:
            last[stage] = done
            print(f"adopt: {stage} {done:,}/{total:,}", file=sys.stderr, flush=True)
    return plain


def run(args, config) -> int:
    from ctvdb.adopt import AdoptError, adopt
    from ctvdb.adopt.reconcile import summary_lines

    say_database(config)
    interactive = sys.stderr.isatty()
    try:
        result = adopt(args.source, config.database_path, dry_run=args.dry_run, replace=args.replace,
                       progress=_progress(interactive))
    except AdoptError as exc:
        if args.report:
            _write(args.report, {"status": "FAILED", "message": f"Adopt failed: {exc}"})
        print(f"Adopt failed: {exc}", flush=True)
        return 1
    for line in summary_lines(result.reconciliation):
        print(line)
    if args.report:
        _write(args.report, result.as_dict())
    if args.dry_run:
        print(f"Dry run: {result.spots:,} spots in {result.months} months would be adopted into "
              f"{config.database_path}, every figure equal to the source's; nothing was written.")
    else:
        print(f"Adopted {args.source} into {config.database_path}: {result.spots:,} spots in {result.months} "
              f"months (batch {result.batch_id}), every figure equal to the source's, in {result.seconds:.1f} s.")
    return 0


def _write(path: str, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
