"""`ctvdb accounts …`: the address book (ctvdb/accounts.py) for scripts and a look from the shell.

An account is named `customer:ID` or `agency:ID` (the workbench's ids). A write prints what it
changed and exits 0; a refusal is the function's sentence, exit 1. Days are Pacific.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from ctvdb import accounts, accounts_csv, accounts_duplicates, accounts_read, changes, db
from ctvdb.console import CommandError, say_database


def add_commands(sub) -> None:
    group = sub.add_parser("accounts", help="the address book: list, show, contacts, assign, follow-ups, export,"
                                            " import, duplicates")
    commands = group.add_subparsers(dest="accounts_command", required=True, metavar="ACTION")

    p = commands.add_parser("list", help="every account with its AE, revenue, signals and next follow-up")
    _filters(p)
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("show", help="one account: contacts, addresses, terms, AE history, activities, follow-ups")
    p.add_argument("account", metavar="ACCOUNT", help="customer:ID or agency:ID")
    p.add_argument("--json", action="store_true")
    _today(p)
    p.set_defaults(func=cmd_show)

    p = commands.add_parser("contacts", help="add a contact to an account")
    contacts = p.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")
    p = contacts.add_parser("add", help="add a contact")
    p.add_argument("account", metavar="ACCOUNT", help="customer:ID or agency:ID")
    p.add_argument("--name", required=True)
    for option in ("title", "email", "phone", "notes"):
        p.add_argument(f"--{option}", default="")
    p.add_argument("--role", default="other", choices=accounts.CONTACT_ROLES)
    p.add_argument("--primary", action="store_true")
    p.add_argument("--by", required=True, metavar="EMAIL", help="who makes the change")
    p.set_defaults(func=cmd_contact_add)

    p = commands.add_parser("assign", help="assign accounts to an AE from a day on (the history keeps the last)")
    p.add_argument("accounts", nargs="+", metavar="ACCOUNT")
    p.add_argument("--ae", required=True, metavar="NAME")
    p.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--by", required=True, metavar="EMAIL")
    p.set_defaults(func=cmd_assign)

    p = commands.add_parser("follow-ups", help="open follow-ups, overdue first (an AE's or a user's with --ae/--owner)")
    p.add_argument("--ae", metavar="NAME")
    p.add_argument("--owner", metavar="EMAIL")
    p.add_argument("--json", action="store_true")
    _today(p)
    p.set_defaults(func=cmd_follow_ups)

    p = commands.add_parser("export", help="write the (filtered) list to FILE.csv, its contacts with --contacts,"
                                           " or both to FILE.xlsx")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--contacts", action="store_true", help="the accounts' contacts instead of the accounts")
    _filters(p)
    p.set_defaults(func=cmd_export)

    p = commands.add_parser("import", help="import accounts or contacts from a CSV of the export's columns")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--dry-run", action="store_true", help="say line by line what would happen; change nothing")
    p.add_argument("--by", metavar="EMAIL", help="who imports (required unless --dry-run)")
    _today(p)
    p.set_defaults(func=cmd_import)

    p = commands.add_parser("duplicates", help="pairs of accounts that are probably one, with the reasons")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)


def _today(parser) -> None:
    parser.add_argument("--today", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="the day figures and overdue are counted for (default: today, Pacific)")


def _filters(parser) -> None:
    parser.add_argument("--ae", metavar="NAME", help="assigned to this AE (NONE: unassigned)")
    parser.add_argument("--type", choices=accounts.TYPES)
    parser.add_argument("--sector", metavar="CODE", help="a sector code (NONE: no sector)")
    parser.add_argument("--signal", metavar="SIGNAL")
    parser.add_argument("--has-revenue", action="store_true", help="revenue in the last 12 months")
    parser.add_argument("--no-contact", action="store_true")
    parser.add_argument("--overdue", action="store_true", help="an overdue follow-up")
    parser.add_argument("--search", metavar="TEXT", help="accent-blind search of names and agencies")
    parser.add_argument("--inactive", action="store_true", help="deactivated accounts too")
    parser.add_argument("--sort", default="name", choices=accounts_read.SORTS)
    parser.add_argument("--desc", action="store_true")
    _today(parser)


def _day(args, config) -> dt.date:
    return args.today or dt.datetime.now(ZoneInfo(config.timezone)).date()


def _list_filters(args) -> accounts_read.ListFilters:
    query = {"ae": args.ae, "type": args.type, "sector": args.sector, "signal": args.signal,
             "has_revenue": "1" if args.has_revenue else None, "no_contact": "1" if args.no_contact else None,
             "overdue": "1" if args.overdue else None, "q": args.search, "inactive": "1" if args.inactive else None,
             "sort": args.sort, "dir": "desc" if args.desc else "asc"}
    return accounts_read.ListFilters.from_query(query)


def _run(config, work, write: bool = False):
    say_database(config)
    conn = db.connect(config.database_path) if write else db.connect_readonly(config.database_path)
    try:
        return work(conn)
    except changes.ChangeError as exc:
        raise CommandError(str(exc)) from None
    finally:
        conn.close()


def cmd_list(args, config) -> int:
    rows = _run(config, lambda conn: accounts_read.list_accounts(conn, _day(args, config), _list_filters(args)))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        chain = f"{r['agency_chain']}:" if r["agency_chain"] else ""
        follow = f"\tnext follow-up {r['next_follow_up']}{' (overdue)' if r['overdue'] else ''}" if r["next_follow_up"] else ""
        print(f"{r['type']}:{r['id']}\t{chain}{r['name']}\t{r['ae'] or '-'}\t{r['trailing']:.2f}\t"
              f"{r['this_year']:.2f}\t{r['last_year']:.2f}\t{r['contacts']} contacts\t{r['signal_words']}{follow}")
    print(f"{len(rows)} account{'' if len(rows) == 1 else 's'}.", file=sys.stderr)
    return 0


def cmd_show(args, config) -> int:
    page = _run(config, lambda conn: accounts_read.account_page(conn, accounts.ref(args.account), _day(args, config)))
    if args.json:
        print(json.dumps(page, ensure_ascii=False, default=str))
        return 0
    t, rev = page["terms"], page["revenue"]
    print(f"{page['label']}" + (f"  (merged into {page['merged_label']})" if page["merged_into"] else ""))
    print(f"AE {page['ae'] or '-'}; sector {page['sector'] or '-'}; agency {page['agency'] or '-'}; "
          f"{'active' if t['active'] else 'deactivated'}")
    print(f"Last 12 months {rev['trailing']:,.2f}; this year {rev['this_year']:,.2f}; last year {rev['last_year']:,.2f}")
    share = "-" if t["commission_pct"] is None else f"{t['commission_pct']:g} %"
    print(f"Terms: PO {'required' if t['po_required'] else 'not required'}; EDI {t['edi_code'] or '-'}; commission "
          f"{share}; affidavit "
          f"{'required' if t['affidavit_required'] else 'not required'}; {t['invoice_notes']}")
    for c in page["contacts"]:
        print(f"Contact #{c['id']}{' (primary)' if c['is_primary'] else ''}: {c['name']}, {c['title']}, "
              f"{accounts.ROLE_WORDS[c['role']]}, {c['email']}, {c['phone']}")
    for a in page["addresses"]:
        print(f"Address #{a['id']} ({a['kind']}): {', '.join(v for v in (a['line1'], a['line2'], a['city'], a['region'], a['postal_code'], a['country']) if v)}")
    for a in page["assignments"]:
        print(f"AE {a['ae']} from {a['effective_from']} to {a['effective_to'] or 'now'} (by {a['assigned_by']})")
    for a in page["activities"]:
        print(f"{a['happened_on']} {a['kind']} by {a['who']}{' with ' + a['contact'] if a['contact'] else ''}: {a['text']}")
    for f in page["follow_ups"]:
        state = f"done by {f['done_by']}" if f["done_at"] else ("OVERDUE" if f["overdue"] else "open")
        print(f"Follow-up #{f['id']} due {f['due_on']} for {f['owner']} ({state}): {f['text']}")
    for a in page["advertisers"]:
        print(f"Advertiser customer:{a['id']} {a['name']}\t{a['trailing']:.2f}")
    return 0


def cmd_contact_add(args, config) -> int:
    def work(conn):
        contact_id = accounts.add_contact(conn, args.by, accounts.ref(args.account), name=args.name, title=args.title,
                                          role=args.role, email=args.email, phone=args.phone, notes=args.notes,
                                          is_primary=args.primary)
        return contact_id, changes.last_for(conn, contact_id, "contact")
    contact_id, change = _run(config, work, write=True)
    print(f"Change {change.id}: {change.summary} (contact #{contact_id}).")
    return 0


def cmd_assign(args, config) -> int:
    def work(conn):
        ids = accounts.assign(conn, args.by, [accounts.ref(a) for a in args.accounts], args.ae, args.start)
        return [changes.get(conn, i) for i in ids]
    for change in _run(config, work, write=True):
        print(f"Change {change.id}: {change.summary}.")
    return 0


def cmd_follow_ups(args, config) -> int:
    owners = [o for o in (args.ae, args.owner) if o] or None
    rows = _run(config, lambda conn: accounts_read.follow_ups(conn, _day(args, config), owners))
    rows.sort(key=lambda r: (not r["overdue"], r["due_on"], r["id"]))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        state = "OVERDUE" if r["overdue"] else ("today" if r["due_today"] else "due")
        print(f"#{r['id']}\t{r['due_on']}\t{state}\t{r['owner']}\t{r['account']}\t{r['account_label']}\t{r['text']}")
    print(f"{len(rows)} open follow-up{'' if len(rows) == 1 else 's'}.", file=sys.stderr)
    return 0


def cmd_export(args, config) -> int:
    path = Path(args.file)
    filters, today = _list_filters(args), _day(args, config)
    if path.suffix.lower() == ".xlsx":
        data = _run(config, lambda conn: accounts_csv.export_xlsx(conn, today, filters))
    else:
        export = accounts_csv.export_contacts if args.contacts else accounts_csv.export_accounts
        data = _run(config, lambda conn: export(conn, today, filters))
    path.write_bytes(data)
    print(f"Wrote {path}.")
    return 0


def cmd_import(args, config) -> int:
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
    today = _day(args, config)
    if args.dry_run:
        result = _run(config, lambda conn: accounts_csv.plan(conn, data, today))
        for line in result.lines:
            print(f"{line.action}\t{line.sentence}")
        print(f"Dry run of {args.file}: {result.sentence()}; nothing was changed.")
        return 1 if result.refused else 0
    if not args.by:
        raise CommandError("say who imports with --by EMAIL (or look first with --dry-run)")
    result = _run(config, lambda conn: accounts_csv.import_csv(conn, args.by, data, today), write=True)
    print(f"Imported {args.file}: {result.sentence()}.")
    return 0


def cmd_duplicates(args, config) -> int:
    found = _run(config, accounts_duplicates.pairs)
    if args.json:
        print(json.dumps([p.as_dict() for p in found], ensure_ascii=False))
        return 0
    for p in found:
        print(f"{p.type}:{p.first} {p.first_label}\t{p.type}:{p.second} {p.second_label}\t{'; '.join(p.reasons)}")
    print(f"{len(found)} pair{'' if len(found) == 1 else 's'}; merge one with `ctvdb customers merge` or"
          " `ctvdb agencies merge` (and `ctvdb changes undo` takes it back).", file=sys.stderr)
    return 0
