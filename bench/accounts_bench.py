"""Benchmark reading accounts (ctvdb/accounts_read.py) in-process.

    uv run python bench/accounts_bench.py [--customers 4800] [--agencies 200] [--contacts 20000]
        [--activities 500] [--runs 30]

Builds a database of 5,000 accounts (customers and agencies) with two years of monthly summary
rows each, 20,000 contacts, follow-ups, AE assignments, and one account with 500 activities, then
times the accounts list (unfiltered, and searched and sorted) and that account's page. Prints p50
and p95 and, as a ratio, against a reference measured in the same run (reading every customer's
name and summing customer_total_summary over the same months: the least the list must read), with
the load average: other work on the machine skews p95.

Goal (issue 15): the list of 5,000 accounts and 20,000 contacts, and a page of 500 activities, each
well under 100 ms before the web cache (bench/web_bench.py measures the pages themselves).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctvdb import codes, db  # noqa: E402
from ctvdb.accounts_read import ListFilters, account_page, list_accounts  # noqa: E402

GOAL_MS = 100.0
TODAY = dt.date(2026, 11, 20)
AES = ["ALICE NGUYEN", "BRANDON WU", "CARMEN REYES", "DAVID KIM", "ELAINE CHAN", "FRANK TRAN"]


def build(path: Path, args, rng: random.Random) -> None:
    db.init(path)
    conn = db.connect(path)
    now = "2026-11-01T00:00:00Z"
    months = codes.month_span(202501, 202612)
    with db.write_transaction(conn):
        conn.executemany("INSERT INTO agencies (id, name, name_key) VALUES (?, ?, ?)",
                         [(i, f"Agency {i}", f"agency {i}") for i in range(1, args.agencies + 1)])
        customers = []
        for i in range(1, args.customers + 1):
            agency = rng.randrange(1, args.agencies + 1) if rng.random() < 0.5 else None
            name = f"Customer {i} Phở Hòa" if i % 7 == 0 else f"Customer {i}"
            key = f"agency {agency}:{name}".lower() if agency else name.lower()
            customers.append((i, name, f"Agency {agency}" if agency else "", agency, key))
        conn.executemany("INSERT INTO customers (id, name, agency_chain, agency_id, identity_key) VALUES (?, ?, ?, ?, ?)",
                         customers)
        summary = [(m, c[0], rng.choice(AES), "Internal Ad Sales", 3, 900.0, 760.0, 3, 900.0, 300.0, 300.0)
                   for c in customers for m in months if rng.random() < 0.6]
        conn.executemany("INSERT OR IGNORE INTO customer_total_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", summary)
        accounts = [("customer", c[0]) for c in customers] + [("agency", a) for a in range(1, args.agencies + 1)]
        conn.executemany(
            "INSERT INTO account_contacts (account_type, account_id, name, email, phone, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, 'bench')",
            [(*rng.choice(accounts), f"Person {n}", f"p{n}@x{n % 900}.example.com", f"206-555-{n % 10000:04d}", now)
             for n in range(args.contacts)])
        conn.executemany("INSERT INTO account_assignments (account_type, account_id, ae, effective_from, assigned_by,"
                         " assigned_at) VALUES (?, ?, ?, '2026-01-01', 'bench', ?)",
                         [(*a, rng.choice(AES), now) for a in accounts if rng.random() < 0.7])
        conn.executemany("INSERT INTO account_follow_ups (account_type, account_id, due_on, owner, text, created_at,"
                         " created_by) VALUES (?, ?, ?, ?, 'Call back', ?, 'bench')",
                         [(*rng.choice(accounts), (TODAY + dt.timedelta(days=rng.randrange(-30, 30))).isoformat(),
                           rng.choice(AES), now) for _ in range(3000)])
        conn.executemany("INSERT INTO account_activities (account_type, account_id, kind, happened_on, who, text,"
                         " logged_at) VALUES ('customer', 7, ?, ?, 'bench@example.com', ?, ?)",
                         [(rng.choice(("call", "email", "meeting", "note")),
                           (TODAY - dt.timedelta(days=n % 700)).isoformat(), f"Talked about flight {n}", now)
                          for n in range(args.activities)])
    conn.execute("ANALYZE")
    conn.close()


def timed(work, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        out.append((time.perf_counter() - started) * 1000)
    return out


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4800)
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--activities", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    print(f"{args.customers + args.agencies:,} accounts, {args.contacts:,} contacts, {args.activities} activities on"
          f" one; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        build(path, args, random.Random(1))
        conn = db.connect_readonly(path)
        try:
            def reference():
                conn.execute("SELECT id, name, agency_chain FROM customers").fetchall()
                conn.execute("SELECT customer_id, total(gross) FROM customer_total_summary WHERE broadcast_month"
                             " BETWEEN 202501 AND 202612 GROUP BY customer_id").fetchall()

            results = {
                "reference": timed(reference, args.runs),
                "list": timed(lambda: list_accounts(conn, TODAY), args.runs),
                "list, searched": timed(lambda: list_accounts(conn, TODAY, ListFilters(q="pho hoa")), args.runs),
                "list, by revenue": timed(lambda: list_accounts(conn, TODAY, ListFilters(sort="trailing", desc=True)),
                                          args.runs),
                f"page, {args.activities} activities": timed(lambda: account_page(conn, ("customer", 7), TODAY),
                                                             args.runs),
            }
        finally:
            conn.close()
    reference_ms = statistics.median(results["reference"])
    met = True
    for name, samples in results.items():
        p50, p95 = statistics.median(samples), percentile(samples, 0.95)
        print(f"{name:<22} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  p50 = {p50 / reference_ms:5.2f}x the reference")
        met = met and (name == "reference" or p95 <= GOAL_MS)
    print(f"Load average {os.getloadavg()[0]:.2f} at the end (other work on the machine skews p95).")
    print(f"Goal: p95 <= {GOAL_MS:.0f} ms for each: {'met' if met else 'NOT met'}.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
