"""`ctvdb tokens`: add (the token is printed once), list and revoke the API tokens of /api/v1/."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from ctvdb import auth, db, tokens
from ctvdb.console import CommandError, say_database


def add_commands(sub) -> None:
    group = sub.add_parser("tokens", help="manage the API tokens that scripts and Excel read /api/v1/ with")
    commands = group.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")

    p = commands.add_parser("add", help="make a token (printed once: only its digest is kept)")
    p.add_argument("name", help="what the logs and lists call it, e.g. 'management workbook'")
    p.add_argument("--scope", required=True, choices=tokens.SCOPES)
    p.add_argument("--ae", metavar="NAME", help="see only what this sales person sees")
    p.add_argument("--expires", default=tokens.DEFAULT_EXPIRES, metavar="WHEN",
                   help=f"90d, 12w, a date (2027-06-30) or never (default {tokens.DEFAULT_EXPIRES})")
    p.add_argument("--by", metavar="WHO", help="who makes it (default: your login name)")
    p.set_defaults(func=cmd_add)

    p = commands.add_parser("list", help="every token: scope, AE, created, expires, last used and from where")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("revoke", help="revoke a token: its next request is refused")
    p.add_argument("name")
    p.add_argument("--by", metavar="WHO", help="who revokes it (default: your login name)")
    p.set_defaults(func=cmd_revoke)


def _who(given: str | None) -> str:
    return given or f"{getpass.getuser()} (command line)"


def _connect(config):
    say_database(config)
    return db.connect_auth(config.database_path)


def cmd_add(args, config) -> int:
    conn = _connect(config)
    try:
        try:
            expires = tokens.parse_expires(args.expires)
            token, secret = tokens.add_token(conn, args.name, args.scope, ae=args.ae, expires=expires,
                                             by=_who(args.by))
        except auth.AuthError as exc:
            raise CommandError(str(exc)) from None
    finally:
        conn.close()
    zone = ZoneInfo(config.timezone)
    until = _local(token.expires_at, zone) if token.expires_at else "never"
    print(f"Added token {token.name!r}: scope {token.scope}{', AE ' + token.ae if token.ae else ''},"
          f" expires {until}. It is shown this once; keep it in a password manager:", file=sys.stderr)
    print(secret)
    if token.ae:
        spots = db.connect_readonly(config.database_path)
        try:
            if not spots.execute("SELECT 1 FROM spots WHERE ae = ? LIMIT 1", (token.ae,)).fetchone():
                print(f"Note: no spots have sales person {token.ae!r} yet; check the spelling.", file=sys.stderr)
        finally:
            spots.close()
    return 0


def _local(iso_utc: str | None, zone: ZoneInfo) -> str:
    if not iso_utc:
        return ""
    return datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def cmd_list(args, config) -> int:
    conn = _connect(config)
    try:
        found = tokens.list_tokens(conn)
    finally:
        conn.close()
    zone = ZoneInfo(config.timezone)
    rows = [("NAME", "SCOPE", "AE", "STATUS", "CREATED", "BY", "EXPIRES", "LAST USED", "FROM")]
    for t in found:
        rows.append((t.name, t.scope, t.ae or "", t.status(), _local(t.created_at, zone), t.created_by,
                     _local(t.expires_at, zone) if t.expires_at else "never",
                     _local(t.last_used_at, zone) if t.last_used_at else "never", t.last_used_from or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not found:
        print("No tokens yet: make one with `ctvdb tokens add NAME --scope reports`.", file=sys.stderr)
    return 0


def cmd_revoke(args, config) -> int:
    conn = _connect(config)
    try:
        try:
            token = tokens.revoke_token(conn, args.name, by=_who(args.by))
        except auth.AuthError as exc:
            raise CommandError(str(exc)) from None
    finally:
        conn.close()
    print(f"Revoked token {token.name!r}; its next request is refused.")
    return 0
