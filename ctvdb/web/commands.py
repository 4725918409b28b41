"""Web-side commands: `serve`, `demo`, `sectors load`, `budgets load`, `forecasts load`.

`serve` runs the same thing production runs (`uvicorn ctvdb.web.asgi:app`); it checks that the
app can start first, so a missing database is one line and exit 1, not a traceback per worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from ctvdb import auth, db
from ctvdb.console import CommandError, say_database
from ctvdb.config import Config

DEMO_DATABASE = Path("var") / "demo.db"
DEMO_SPOTS_PER_MONTH = 3000
DEMO_YEARS = 4          # this year and the three before it


def add_commands(sub) -> dict:
    """The web-side commands; returns the `sectors` and `budgets` groups, to which other areas add
    their actions (`ctvdb sectors add …` is ctvdb/customers_cli.py's)."""
    p = sub.add_parser("serve", help="serve the reports with uvicorn (as production does)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="build a demo database from a sample workbook and serve it",
                       description=f"Writes a sample Commercial Log ({DEMO_YEARS} years, "
                       f"{DEMO_SPOTS_PER_MONTH:,} spots a month), imports it into {DEMO_DATABASE} "
                       "(or --db) unless that is already current, and serves it.")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the demo database even if current")
    p.add_argument("--no-serve", action="store_true", help="build the database and stop")
    p.set_defaults(func=cmd_demo)

    groups = {}
    for kind, columns in (("sectors", "customer,sector"), ("budgets", "ae,month,amount"),
                          ("forecasts", "ae,month,amount")):
        group = groups[kind] = sub.add_parser(
            kind, help="the sector list and customers' sectors" if kind == "sectors" else f"load {kind} from a CSV"
        ).add_subparsers(dest=f"{kind}_command", required=True, metavar="ACTION")
        p = group.add_parser("load", help=f"load {kind} from a CSV with header `{columns}`",
                             description=_csv_help(kind),
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("csv", metavar="FILE.csv")
        if kind != "sectors":   # the planning history says who set each budget and forecast
            p.add_argument("--by", metavar="EMAIL", required=kind == "forecasts", default="ctvdb budgets load",
                           help="who the history records as making the change")
        p.set_defaults(func=cmd_load, kind=kind)
    return groups


def _csv_help(kind: str) -> str:
    from ctvdb.web import reference
    return reference.__doc__


# serve ------------------------------------------------------------------------------------------

# How ctvdb runs uvicorn, here and in production: units/ctv-bookedbiz-db.service gives the same
# options on its ExecStart line (tests/test_units.py holds them to this).
UVICORN_OPTIONS = {
    # uvicorn's h11 protocol with request deadlines and connection caps (ctvdb/web/guard.py).
    "http": "ctvdb.web.guard:GuardedH11Protocol",
    # The site has no websockets; an upgrade would hand the connection past the guard's count.
    "ws": "none",
    # uvicorn would believe X-Forwarded-* from 127.0.0.1; CTVDB_TRUSTED_PROXIES decides instead.
    "proxy_headers": False,
    "server_header": False,
    # Requests get 20 s to finish on stop, well inside the unit's TimeoutStopSec.
    "timeout_graceful_shutdown": 20,
}

def cmd_serve(args, config: Config) -> int:
    say_database(config)
    return _serve(config, args.host, args.port, args.workers)


def _serve(config: Config, host: str, port: int, workers: int) -> int:
    import uvicorn

    from ctvdb.web.app import StartupError, create_app

    try:
        create_app(config)
    except StartupError as exc:
        raise CommandError(f"cannot start the web app: {exc}") from None
    # ctvdb.web.asgi builds its config from the environment, in this process and in each worker.
    os.environ["DATABASE_PATH"] = str(Path(config.database_path).resolve())
    print(f"Serving {config.database_path} on http://{host}:{port}/reports/ (Ctrl-C stops)", flush=True)
    uvicorn.run("ctvdb.web.asgi:app", host=host, port=port, workers=workers, log_level="info",
                **UVICORN_OPTIONS)
    return 0


# demo -------------------------------------------------------------------------------------------

def cmd_demo(args, config: Config) -> int:
    config = config.with_database(args.db or DEMO_DATABASE)
    say_database(config)
    build_demo(config.database_path, rebuild=args.rebuild)
    conn = db.connect_auth(config.database_path)
    try:
        email, password = auth.create_demo_admin(conn)
    finally:
        conn.close()
    print(f"Sign in as {email} with password {password} (new on every start).")
    if args.no_serve:
        return 0
    return _serve(config, "127.0.0.1", args.port, 1)


def build_demo(path: Path, *, rebuild: bool = False, today: dt.date | None = None) -> bool:
    """Build the demo database unless it is current; returns True when it was built."""
    from ctvdb import codes, months, sample
    from ctvdb.importer import ImportFailed, import_workbook
    from ctvdb.web import queries, reference

    today = today or dt.datetime.now(ZoneInfo(Config().timezone)).date()   # the day as the pages count it
    first_year = today.year - DEMO_YEARS + 1
    span = f"Jan-{first_year % 100:02d}..Dec-{today.year % 100:02d}"
    rows = DEMO_SPOTS_PER_MONTH * 12 * DEMO_YEARS
    work = path.parent / "demo"
    workbook = work / f"Commercial Log demo {first_year}-{today.year} {rows}.xlsx"
    if not rebuild and _demo_current(path, workbook.name):
        print(f"Demo database {path} is current ({workbook.name}).")
        return False
    work.mkdir(parents=True, exist_ok=True)
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    print(f"Writing {rows:,} sample spots ({span}) to {workbook} ...", flush=True)
    sample.write_sample(workbook, rows=rows, months=span, seed=1)
    print(f"Importing into {path} ...", flush=True)
    try:
        result = import_workbook(path, workbook, mode="manual", auto_setup=True, today=today)
    except ImportFailed as exc:
        raise CommandError(f"demo import failed: {exc}") from None
    if result.status != "COMPLETED":
        raise CommandError(f"demo import ended {result.status}")
    conn = db.connect(path)
    try:
        # Months before last month are closed, as accounting would have done.
        last_month = codes.previous_month(today.year * 100 + today.month)
        closed = [y * 100 + m for y in range(first_year, today.year + 1) for m in range(1, 13)
                  if y * 100 + m < last_month]
        months.close_months(conn, closed, "demo")
        sectors_csv, budgets_csv = work / "sectors.csv", work / "budgets.csv"
        _write_demo_sectors(sectors_csv, queries.customer_bill_codes(conn))
        reference.load_sectors(conn, sectors_csv)
        _write_demo_budgets(budgets_csv, queries.ae_month_totals(conn, (today.year - 1) * 100 + 1,
                                                                 (today.year - 1) * 100 + 12), today.year)
        reference.load_budgets(conn, budgets_csv)
        # Each AE's forecast: last year's month, some AEs hopeful and some cautious (issue 13).
        _write_demo_forecasts(work / "forecasts.csv", queries.ae_month_totals(
            conn, (today.year - 1) * 100 + 1, (today.year - 1) * 100 + 12), today.year)
        reference.load_forecasts(conn, work / "forecasts.csv", "demo@example.com")
        _demo_decisions(conn)
        _demo_accounts(conn, today)
        # Issue 13: a year and a bit of weekly booking snapshots, so the pace page has a history.
        from ctvdb import snapshots
        with db.write_transaction(conn):
            snapshots.simulate_history(conn, today, [today - dt.timedelta(days=7 * w) for w in range(60)], 7)
    finally:
        conn.close()
    print(f"Demo database {path} built: {result.rows_imported:,} spots.", flush=True)
    return True


def _demo_decisions(conn) -> None:
    """What a person would have done in the workbench, so its pages have something to show: the
    five biggest customers confirmed, one advertiser booked under two agencies merged, one
    customer made irregular. Each is a change in the change log, and can be undone there."""
    from ctvdb import customers

    actor = "demo@example.com"
    biggest = [r[0] for r in conn.execute(
        "SELECT customer_id FROM customer_total_summary GROUP BY customer_id ORDER BY total(gross) DESC LIMIT 6")]
    for customer_id in biggest[:5]:
        customers.mark_reviewed(conn, actor, customer_id)
    pair = conn.execute(
        "SELECT min(id), max(id) FROM customers GROUP BY lower(name) HAVING count(*) > 1 ORDER BY lower(name) LIMIT 1"
    ).fetchone()
    if pair:
        customers.merge(conn, actor, pair[0], [pair[1]])
    if len(biggest) > 5:
        customers.set_class(conn, actor, biggest[5], "irregular")


# Issue 15: people a demo account's page shows, in the scripts the sales team types.
_DEMO_PEOPLE = [("Ana Lee", "Media buyer", "decision_maker"), ("Nguyễn Thị Lan", "Marketing director", "decision_maker"),
                ("김민수", "Accounts payable", "billing"), ("王小明", "Creative lead", "creative"),
                ("Priya Singh", "Owner", "decision_maker"), ("Maria Santos", "Office manager", "billing")]


def _demo_accounts(conn, today: dt.date) -> None:
    """What the sales team would have typed into the accounts (issue 15), so its pages have
    something to show: the largest customers and agencies assigned to the AE who sells them most
    (two reassigned this month, so the history has a change), contacts, a billing address, terms,
    a few calls and emails, and follow-ups, one of them overdue. Every row a change in the log."""
    from ctvdb import accounts
    from ctvdb.accounts import Ref

    actor = "demo@example.com"
    top = conn.execute(
        "SELECT s.customer_id, c.name, (SELECT ae FROM customer_total_summary x WHERE x.customer_id = s.customer_id"
        " GROUP BY ae ORDER BY total(gross) DESC LIMIT 1) FROM customer_total_summary s JOIN customers c"
        " ON c.id = s.customer_id WHERE c.merged_into IS NULL GROUP BY s.customer_id ORDER BY total(s.gross) DESC"
        " LIMIT 8").fetchall()
    agency_ids = [r[0] for r in conn.execute(
        "SELECT c.agency_id FROM customer_total_summary s JOIN customers c ON c.id = s.customer_id"
        " WHERE c.agency_id IS NOT NULL GROUP BY c.agency_id ORDER BY total(s.gross) DESC LIMIT 2")]
    aes = sorted({ae for _, _, ae in top})
    start = dt.date(today.year - 1, 1, 1)
    for n, (customer_id, name, ae) in enumerate(top):
        account = Ref("customer", customer_id)
        accounts.assign(conn, actor, [account], ae, start)
        if n in (2, 5) and len(aes) > 1:
            accounts.assign(conn, actor, [account], aes[(aes.index(ae) + 1) % len(aes)], today.replace(day=1))
        person, title, role = _DEMO_PEOPLE[n % len(_DEMO_PEOPLE)]
        domain = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum()) or "example"
        contact = accounts.add_contact(conn, actor, account, name=person, title=title, role=role, is_primary=True,
                                       email=f"contact{n}@{domain}.example.com", phone=f"(206) 555-01{n:02d}")
        accounts.add_address(conn, actor, account, kind="billing", line1=f"{100 + n} Main Street", city="Seattle",
                             region="WA", postal_code="98104", country="US")
        accounts.set_terms(conn, actor, account, po_required=n % 2 == 0, affidavit_required=n % 3 == 0)
        accounts.log_activity(conn, actor, account, "call", today - dt.timedelta(days=3 + n),
                              f"Called {person} about next quarter's flight.", contact)
        accounts.log_activity(conn, actor, account, "email", today - dt.timedelta(days=10 + n),
                              "Sent the new rate card.", contact)
        owner = accounts.assigned_ae(conn, account, today) or ae
        accounts.add_follow_up(conn, actor, account, today + dt.timedelta(days=n - 2), owner,
                               "Confirm the order for next month." if n % 2 else "Send the renewal proposal.")
    for agency_id in agency_ids:
        account = Ref("agency", agency_id)
        accounts.set_terms(conn, actor, account, commission_pct=15, invoice_notes="Invoice the agency, net 30.")
        accounts.add_contact(conn, actor, account, name="Grace Liu", title="Media director", role="decision_maker",
                             email=f"grace.liu@agency{agency_id}.example.com")


def _demo_current(path: Path, workbook_name: str) -> bool:
    from ctvdb.web import queries

    if not path.exists():
        return False
    conn = db.connect(path)
    try:
        last = queries.last_completed_import(conn)
        if not last or Path(last["source_file"]).name != workbook_name:
            return False
        db.ensure_current(conn)  # a newer ctvdb's migrations build their summaries from the spots
        return True
    except Exception:  # noqa: BLE001 - anything odd about an old demo database means rebuild it
        return False
    finally:
        conn.close()


def _write_demo_sectors(path: Path, customers: list[tuple[int, str]]) -> None:
    import csv

    codes = ["AUTO", "CPG", "FIN", "GOV", "HEALTH", "INS", "LEGAL", "MEDIA", "OUTR", "QSR", "RE",
             "RETAIL", "TECH", "TRAVEL"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer", "sector"])
        for _, bill_code in customers:
            digest = hashlib.sha256(bill_code.encode()).digest()[0]
            if digest % 10:  # one customer in ten stays unassigned
                writer.writerow([bill_code, codes[digest % len(codes)]])


def _write_demo_budgets(path: Path, last_year: list[tuple[str, int, float]], year: int) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ae", "month", "amount"])
        for ae, month, gross in last_year:
            if gross > 0:  # a 5 % growth target on last year, in round hundreds
                writer.writerow([ae, f"{year}-{month % 100:02d}", round(gross * 1.05, -2)])


def _write_demo_forecasts(path: Path, last_year: list[tuple[str, int, float]], year: int) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ae", "month", "amount"])
        for ae, month, gross in last_year:
            outlook = 0.9 + hashlib.sha256(ae.encode()).digest()[0] % 25 / 100   # 0.90 to 1.14, per AE
            if gross > 0:
                writer.writerow([ae, f"{year}-{month % 100:02d}", round(gross * outlook, -2)])


# sectors load / budgets load ---------------------------------------------------------------------

def cmd_load(args, config: Config) -> int:
    from ctvdb.web import reference

    say_database(config)
    conn = db.connect(config.database_path)
    try:
        db.ensure_current(conn)
        if args.kind == "sectors":
            count = reference.load_sectors(conn, Path(args.csv))
        else:
            load = reference.load_budgets if args.kind == "budgets" else reference.load_forecasts
            count = load(conn, Path(args.csv), args.by)
    except reference.LoadError as exc:
        raise CommandError(f"{exc}; nothing was loaded") from None
    finally:
        conn.close()
    what = {"sectors": "customers given a sector", "budgets": "AE-month budgets stored",
            "forecasts": "AE-month forecasts stored"}[args.kind]
    print(f"Loaded {args.csv} into {config.database_path}: {count:,} {what}.")
    return 0
