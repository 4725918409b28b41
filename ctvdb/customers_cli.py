"""`ctvdb customers …` and `ctvdb changes …`: the workbench's writes for scripts (ctvdb/customers.py).

Each prints what it changed in one line and exits 0; a refusal is the function's sentence, exit 1.
"""

from __future__ import annotations

import dataclasses
import json

from ctvdb import agencies, changes, customers, db, sectors
from ctvdb.console import CommandError, say_database


def add_commands(sub) -> None:
    group = sub.add_parser("customers", help="decide who a customer is: list, merge, alias, split, rename, move,"
                                             " class, deactivate, reactivate, review")
    commands = group.add_subparsers(dest="customers_command", required=True, metavar="ACTION")

    p = commands.add_parser("list", help="list the customers with their bill codes and gross")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.add_argument("--unreviewed", action="store_true", help="only the resolution queue")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("merge", help="merge customers into a survivor")
    p.add_argument("survivor", type=int, metavar="SURVIVOR_ID")
    p.add_argument("others", type=int, nargs="+", metavar="OTHER_ID")
    p.add_argument("--name", help="the survivor's new name")
    _by(p, lambda conn, a: customers.merge(conn, a.by, a.survivor, a.others, name=a.name))

    p = commands.add_parser("alias", help="point a bill code at a customer")
    p.add_argument("bill_code", metavar="BILL_CODE")
    p.add_argument("customer", type=int, metavar="CUSTOMER_ID")
    _by(p, lambda conn, a: customers.alias(conn, a.by, a.bill_code, a.customer))

    p = commands.add_parser("rename", help="rename a customer")
    p.add_argument("customer", type=int, metavar="ID")
    p.add_argument("name", metavar="NAME")
    _by(p, lambda conn, a: customers.rename(conn, a.by, a.customer, a.name))

    p = commands.add_parser("move", help="move a customer to another agency chain, or to direct")
    p.add_argument("customer", type=int, metavar="ID")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--agency", metavar="CHAIN", help="'Agency' or 'Agency1:Agency2'")
    where.add_argument("--direct", action="store_true")
    _by(p, lambda conn, a: customers.move(conn, a.by, a.customer, None if a.direct else a.agency))

    p = commands.add_parser("class", help="set a customer's revenue class")
    p.add_argument("customer", type=int, metavar="ID")
    p.add_argument("revenue_class", choices=customers.CLASSES)
    _by(p, lambda conn, a: customers.set_class(conn, a.by, a.customer, a.revenue_class))

    p = commands.add_parser("split", help="take a bill code off the customer it was wrongly aliased to")
    p.add_argument("bill_code", metavar="BILL_CODE")
    p.add_argument("--to", type=int, metavar="CUSTOMER_ID",
                   help="the customer it belongs to (default: its own, as the import made it)")
    _by(p, lambda conn, a: customers.split(conn, a.by, a.bill_code, a.to))

    for action, write, text in (("deactivate", customers.deactivate, "hide a customer from pick lists (never from figures)"),
                                ("reactivate", customers.reactivate, "make a deactivated customer active again"),
                                ("review", customers.mark_reviewed, "confirm a customer is one of its own: it leaves the queue")):
        p = commands.add_parser(action, help=text)
        p.add_argument("customer", type=int, metavar="ID")
        _by(p, lambda conn, a, write=write: write(conn, a.by, a.customer))

    group = sub.add_parser("agencies", help="agencies as people decide them: list, merge, alias, rename")
    commands = group.add_subparsers(dest="agencies_command", required=True, metavar="ACTION")
    p = commands.add_parser("list", help="the agencies with their customers, other spellings and gross")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.set_defaults(func=cmd_agencies)
    p = commands.add_parser("merge", help="book the other agencies' customers through the survivor")
    p.add_argument("survivor", type=int, metavar="SURVIVOR_ID")
    p.add_argument("others", type=int, nargs="+", metavar="OTHER_ID")
    _by(p, lambda conn, a: agencies.merge(conn, a.by, a.survivor, a.others))
    p = commands.add_parser("alias", help="name another spelling of an agency")
    p.add_argument("spelling", metavar="SPELLING")
    p.add_argument("agency", type=int, metavar="AGENCY_ID")
    _by(p, lambda conn, a: agencies.alias(conn, a.by, a.spelling, a.agency))
    p = commands.add_parser("rename", help="rename an agency")
    p.add_argument("agency", type=int, metavar="AGENCY_ID")
    p.add_argument("name", metavar="NAME")
    _by(p, lambda conn, a: agencies.rename(conn, a.by, a.agency, a.name))

    group = sub.add_parser("changes", help="the change log of the customer workbench: list, undo")
    commands = group.add_subparsers(dest="changes_command", required=True, metavar="ACTION")
    p = commands.add_parser("list", help="the changes, newest first")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.set_defaults(func=cmd_changes)
    p = commands.add_parser("undo", help="undo a merge, alias, split, move, rename or class change")
    p.add_argument("change", type=int, metavar="CHANGE_ID")
    _by(p, lambda conn, a: changes.undo(conn, a.by, a.change))


def add_sector_commands(commands) -> None:
    """`ctvdb sectors list|add|rename|retire|restore|assign` beside `ctvdb sectors load`."""
    p = commands.add_parser("list", help="the sectors, with their customers; retired ones marked")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.set_defaults(func=cmd_sectors)
    p = commands.add_parser("add", help="add a sector")
    p.add_argument("code", metavar="CODE")
    p.add_argument("name", metavar="NAME")
    _by(p, lambda conn, a: sectors.add(conn, a.by, a.code, a.name))
    p = commands.add_parser("rename", help="rename a sector")
    p.add_argument("code", metavar="CODE")
    p.add_argument("name", metavar="NAME")
    _by(p, lambda conn, a: sectors.rename(conn, a.by, a.code, a.name))
    for action, write, text in (("retire", sectors.retire, "retire a sector (its customers keep it)"),
                                ("restore", sectors.restore, "bring a retired sector back")):
        p = commands.add_parser(action, help=text)
        p.add_argument("code", metavar="CODE")
        _by(p, lambda conn, a, write=write: write(conn, a.by, a.code))
    p = commands.add_parser("assign", help="give customers a sector (NONE: no sector)")
    p.add_argument("code", metavar="CODE")
    p.add_argument("customers", type=int, nargs="+", metavar="CUSTOMER_ID")
    _by(p, lambda conn, a: sectors.assign(conn, a.by, a.customers, None if a.code.upper() == "NONE" else a.code))


def cmd_sectors(args, config) -> int:
    found = _read(config, lambda conn: sectors.list_sectors(conn))
    if args.json:
        print(json.dumps([dataclasses.asdict(s) for s in found], ensure_ascii=False))
        return 0
    for s in found:
        print(f"{s.code}\t{s.name}\t{s.customers} customers{'' if s.active else ' (retired)'}")
    return 0


def _read(config, read):
    """What `read(conn)` returns from a read-only connection of the database the command names."""
    say_database(config)
    conn = db.connect_readonly(config.database_path)
    try:
        return read(conn)
    finally:
        conn.close()


def _by(parser, write) -> None:
    parser.add_argument("--by", required=True, metavar="EMAIL", help="who makes the change")
    parser.set_defaults(func=lambda args, config: _write(args, config, write))


def _write(args, config, write) -> int:
    say_database(config)
    conn = db.connect(config.database_path)
    try:
        try:
            change_id = write(conn, args)
        except changes.ChangeError as exc:
            raise CommandError(str(exc)) from None
        print(f"Change {change_id}: {changes.get(conn, change_id).summary}.")
    finally:
        conn.close()
    return 0


def cmd_list(args, config) -> int:
    found = _read(config, lambda conn: customers.list_customers(conn, unreviewed=args.unreviewed))
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    for c in found:
        chain = f"{c['agency_chain']}:" if c["agency_chain"] else ""
        flags = [c["revenue_class"]] + ([] if c["active"] else ["deactivated"]) + \
            (["unreviewed"] if c["reviewed_at"] is None else [])
        print(f"{c['id']}\t{chain}{c['name']}\t{c['gross']:.2f}\t{', '.join(flags)}\t{' | '.join(c['bill_codes'])}")
    return 0


def cmd_agencies(args, config) -> int:
    found = _read(config, agencies.list_agencies)
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    for a in found:
        also = f"\talso spelt {a['spellings']}" if a["spellings"] else ""
        print(f"{a['id']}\t{a['name']}\t{a['customers']} customers\t{a['gross'] or 0:.2f}{also}")
    return 0


def cmd_changes(args, config) -> int:
    found = _read(config, lambda conn: changes.list_changes(conn))
    if args.json:
        print(json.dumps([c.as_dict() for c in found], ensure_ascii=False))
        return 0
    for c in found:
        undone = f" (undone by change {c.undone_by})" if c.undone_by else ""
        print(f"{c.id}\t{changes.when(c.changed_at)}\t{c.actor}\t{c.kind}\t{c.summary}{undone}")
    return 0
