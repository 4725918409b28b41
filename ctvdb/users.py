"""`ctvdb users`: add, list, change the password of, disable and enable the people who may sign in."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from ctvdb import auth, console, db
from ctvdb.console import CommandError, say_database


def add_commands(sub) -> None:
    users = sub.add_parser("users", help="manage who may sign in to the reports")
    commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    p = commands.add_parser("add", help="add a user (the password is prompted for)")
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=auth.ROLES)
    p.add_argument("--ae", metavar="NAME", help="the sales person a user with role ae may see")
    p.add_argument("--name", default="", help="the person's name, as shown on the users page")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_add)

    p = commands.add_parser("list", help="list the users, their roles and last sign-in")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("passwd", help="set a user's password (their sessions end)")
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_passwd)

    p = commands.add_parser("disable", help="disable a user (their sessions end at once)")
    p.add_argument("email")
    p.set_defaults(func=cmd_disable, active=False)

    p = commands.add_parser("enable", help="let a disabled user sign in again")
    p.add_argument("email")
    p.set_defaults(func=cmd_disable, active=True)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    # With no terminal, getpass would read (and echo) whatever stdin holds, then die on its end.
    if not sys.stdin.isatty():
        raise CommandError("standard input is not a terminal, so nobody can type the password there: "
                           "pipe it in with --password-stdin")
    try:
        password = getpass.getpass("Password: ")
        again = getpass.getpass("Password again: ")
    except EOFError:
        raise CommandError("no password was typed; nothing was changed") from None
    if again != password:
        raise CommandError("the two passwords differ; nothing was changed")
    return password


def _connect(config):
    """The sign-in database of the configured one (users live there, beside it)."""
    say_database(config)
    return db.connect_auth(config.database_path)


def cmd_add(args, config) -> int:
    conn = _connect(config)
    try:
        if auth.get_user(conn, args.email) is not None:
            raise CommandError(f"a user {args.email.strip().lower()!r} already exists")
        password = read_password(args.password_stdin)
        try:
            user = auth.add_user(conn, args.email, password, args.role, name=args.name, ae=args.ae)
        except auth.AuthError as exc:
            raise CommandError(str(exc)) from None
        print(f"Added {user.email} ({user.role}{' ' + user.ae if user.ae else ''}).")
    finally:
        conn.close()
    if user.ae:
        spots = db.connect_readonly(config.database_path)
        try:
            if not spots.execute("SELECT 1 FROM spots WHERE ae = ? LIMIT 1", (user.ae,)).fetchone():
                print(f"Note: no spots have sales person {user.ae!r} yet; check the spelling.", file=sys.stderr)
        finally:
            spots.close()
    return 0


def cmd_list(args, config) -> int:
    conn = _connect(config)
    try:
        users = auth.list_users(conn)
    finally:
        conn.close()
    zone = ZoneInfo(config.timezone)
    rows = [("EMAIL", "NAME", "ROLE", "AE", "STATUS", "LAST SIGN-IN")]
    for u in users:
        last = "never"
        if u.last_signin_at:
            last = datetime.fromisoformat(u.last_signin_at).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        rows.append((u.email, u.name, u.role, u.ae or "", "active" if u.active else "disabled", last))
    console.print_columns(rows)
    if not users:
        print("No users yet: add one with `ctvdb users add EMAIL --role admin`.", file=sys.stderr)
    return 0


def cmd_passwd(args, config) -> int:
    conn = _connect(config)
    try:
        _require(conn, args.email)
        password = read_password(args.password_stdin)
        user = _auth_call(auth.set_password, conn, args.email, password)
    finally:
        conn.close()
    print(f"Password of {user.email} changed; their sessions have ended.")
    return 0


def cmd_disable(args, config) -> int:
    """`disable` and `enable`: the same switch, set by the subcommand."""
    conn = _connect(config)
    try:
        user = _auth_call(auth.set_active, conn, args.email, args.active)
    finally:
        conn.close()
    print(f"Enabled {user.email}; they can sign in again." if args.active
          else f"Disabled {user.email}; their sessions have ended.")
    return 0


def _require(conn, email) -> None:
    """Before asking for a password, so nobody types one for a mistyped email."""
    if auth.get_user(conn, email) is None:
        raise CommandError(f"there is no user {email.strip()!r}")


def _auth_call(function, *args):
    try:
        return function(*args)
    except auth.AuthError as exc:
        raise CommandError(str(exc)) from None
