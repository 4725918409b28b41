"""`ctvdb signals list [--json]`: the account signals of the last import (ctvdb/signals.py), with
what people decided about them, for scripts and for a look from the shell."""

from __future__ import annotations

import json

from ctvdb import db
from ctvdb.console import say_database
from ctvdb.signals import SIGNALS, WORDS


def add_commands(sub) -> None:
    group = sub.add_parser("signals", help="account signals: churned, declining, gone quiet, new, growing, renewal gap")
    commands = group.add_subparsers(dest="signals_command", required=True, metavar="ACTION")
    p = commands.add_parser("list", help="list the last import's signals with their figures")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.add_argument("--signal", choices=SIGNALS, help="only this signal")
    p.add_argument("--ae", help="only this AE's (as the log spells the sales person)")
    p.set_defaults(func=cmd_list)


def cmd_list(args, config) -> int:
    say_database(config)
    conn = db.connect_readonly(config.database_path)
    try:
        rows = [dict(r) for r in conn.execute(
            "SELECT a.object_type, a.object_id, coalesce(c.name, g.name) AS name, a.signal, a.ae, a.since,"
            " a.computed_on, a.figures_json, a.since_batch, t.run_batch, coalesce(t.state, 'open') AS state,"
            " t.snoozed_until, t.reason"
            " FROM account_signals a"
            " LEFT JOIN customers c ON a.object_type = 'customer' AND c.id = a.object_id"
            " LEFT JOIN agencies g ON a.object_type = 'agency' AND g.id = a.object_id"
            " LEFT JOIN signal_states t ON t.object_type = a.object_type AND t.object_id = a.object_id"
            "  AND t.signal = a.signal"
            " WHERE (? IS NULL OR a.signal = ?) AND (? IS NULL OR a.ae = ?)"
            " ORDER BY a.signal, a.object_type DESC, name",
            (args.signal, args.signal, args.ae and args.ae.strip().upper(), args.ae and args.ae.strip().upper()))]
    finally:
        conn.close()
    for row in rows:
        row["figures"] = json.loads(row.pop("figures_json"))
        if row["state"] == "dismissed" and row.pop("run_batch") != row.pop("since_batch"):
            row["state"] = "open"      # dismissed in an earlier run of the signal: shown again
        row.pop("run_batch", None), row.pop("since_batch", None)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        f = row["figures"]
        state = {"snoozed": f" [snoozed until {row['snoozed_until']}]",
                 "dismissed": f" [dismissed: {row['reason']}]"}.get(row["state"], "")
        print(f"{WORDS[row['signal']]:<12} {row['object_type']:<8} #{row['object_id']:<6} {row['name']}  AE {row['ae']}"
              f"  prior {f['prior']:,.2f}  last 12 {f['trailing']:,.2f}  ahead {f['ahead']:,.2f}{state}")
    print(f"{len(rows)} signal{'s' if len(rows) != 1 else ''}"
          + (f" as of the import of {rows[0]['computed_on']}." if rows else "."))
    return 0
