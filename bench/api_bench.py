"""Benchmark the API (issue 16) under the real uvicorn server at production scale.

    uv run python bench/api_bench.py [--db var/bench/web-1500000.db] [--year 2026]

The database is the web benchmark's (bench/web_bench.py builds it; this one only reads it, after
`db.ensure_current` has built migration 0020's summary once). In the same run:

- the revenue sheet for a year as CSV: the first body byte, and the whole year's time against a
  plain sqlite3 SELECT of the same rows written with the csv module (the reference); JSON beside it;
- the server's peak RSS (VmHWM) after a one-month sheet and after a five-year one;
- cached report endpoints (p50 / p95, req/s with 8 keep-alive clients) against the trivial page
  (the reports index with a session) measured in the same run, and uncached p95 after a new data
  version, as bench/web_bench.py measures the pages.

Goals (issue 16): first byte <= 100 ms; the year at >= 50 % of the reference's rate; peak RSS for
five years within 20 MB of one month's; the report goals for cached endpoints (p95 <= 5 ms or
within 1.25x the index page's p95, req/s >= 60 % of the index page's; uncached p95 <= 100 ms).
The rate limit is lifted for the run (CTVDB_API_RATE_PER_MINUTE), since it would answer 429.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.client
import io
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ctvdb import db, tokens  # noqa: E402
from ctvdb.web.queries import revenue_sheet  # noqa: E402
from web_bench import Server, bench_session, new_data_version, pct, throughput  # noqa: E402

GOAL_FIRST_BYTE_MS, GOAL_RATE, GOAL_RSS_MB = 100.0, 0.50, 20.0
GOAL_UNCACHED_MS, GOAL_CACHED_MS, GOAL_RPS = 100.0, 5.0, 0.60


class Client:
    """One keep-alive HTTP connection with fixed headers (a bearer token, or a session cookie)."""

    def __init__(self, port: int, headers: dict):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = headers

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def timed(self, path: str) -> float:
        started = time.perf_counter()
        status, body = self.get(path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
        return (time.perf_counter() - started) * 1000

    def streamed(self, path: str) -> tuple[float, float, int]:
        """(ms to the first body byte, ms to the last, bytes) of one answer."""
        started = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        first = response.read(1)
        first_ms = (time.perf_counter() - started) * 1000
        size = len(first)
        while chunk := response.read(1 << 16):
            size += len(chunk)
        if response.status != 200:
            raise SystemExit(f"GET {path} answered {response.status}")
        return first_ms, (time.perf_counter() - started) * 1000, size


def reference(database: Path, first: int, last: int) -> tuple[float, int]:
    """(ms, rows): the sheet's own SELECT (a month at a time, as the API reads it) through sqlite3
    into CSV, nothing else: no HTTP, no server, no Python between the rows and the csv module."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        started = time.perf_counter()
        out = io.StringIO()
        writer = csv.writer(out)
        query, rows, m = revenue_sheet.sql(None, quote_formulas=True), 0, first
        while m <= last:
            writer.writerows(conn.execute(query, revenue_sheet.arguments(m, False, None)))
            rows += out.getvalue().count("\n")
            out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
            m = m + 1 if m % 100 < 12 else (m // 100 + 1) * 100 + 1
        return (time.perf_counter() - started) * 1000, rows
    finally:
        conn.close()


def peak_rss_mb(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench" / "web-1500000.db")
    parser.add_argument("--year", type=int, default=dt.date.today().year)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the year sheet and its reference")
    parser.add_argument("--samples", type=int, default=10, help="uncached samples per endpoint")
    parser.add_argument("--cached", type=int, default=100, help="cached samples per endpoint")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each req/s run")
    args = parser.parse_args(argv)

    database = args.db
    if not database.exists():
        raise SystemExit(f"{database} does not exist: run bench/web_bench.py once, or copy its database here")
    conn = db.connect(database)
    try:
        started = time.perf_counter()
        applied = db.ensure_current(conn)
        if applied:
            print(f"Migrated {database}: {', '.join(applied)} in {time.perf_counter() - started:.0f} s", flush=True)
        spots, years = conn.execute("SELECT (SELECT count(*) FROM spots),"
                                    " (SELECT count(DISTINCT broadcast_month / 100) FROM customer_total_summary)").fetchone()
        first_year = conn.execute("SELECT min(broadcast_month) / 100 FROM customer_total_summary").fetchone()[0]
    finally:
        conn.close()
    auth_conn = db.connect_auth(database)
    try:
        _, token = tokens.add_token(auth_conn, f"bench {time.time():.0f}", "reports", by="bench", expires=None)
        _, plan_token = tokens.add_token(auth_conn, f"bench plans {time.time():.0f}", "planning", by="bench")
    finally:
        auth_conn.close()
    cookie = bench_session(database)
    print(f"{spots:,} spots over {years} years; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
          f" at start; Python {sys.version.split()[0]}", flush=True)

    os.environ["CTVDB_API_RATE_PER_MINUTE"] = "1000000000"
    bearer = {"Authorization": f"Bearer {token}"}
    year_path = f"/api/v1/revenue/sheet?year={args.year}&format=csv"
    results, failed = [], 0

    # Peak RSS: a fresh server, one month, then five years.
    server = Server(database)
    try:
        client = Client(server.port, bearer)
        client.timed("/api/v1/meta")
        client.streamed(f"/api/v1/revenue/sheet?from={args.year}-01&to={args.year}-01&format=csv")
        month_rss = peak_rss_mb(server.process.pid)
        _, _, five_size = client.streamed(f"/api/v1/revenue/sheet?from={first_year}-01&to={args.year}-12&format=csv")
        five_rss = peak_rss_mb(server.process.pid)
    finally:
        server.stop()
    rss_ok = five_rss - month_rss <= GOAL_RSS_MB
    failed += not rss_ok

    server = Server(database)
    try:
        client = Client(server.port, bearer)
        client.streamed(year_path)                      # the page cache warm, as for the reference
        reference(database, args.year * 100 + 1, args.year * 100 + 12)
        runs, refs, json_runs = [], [], []
        for _ in range(args.repeat):
            refs.append(reference(database, args.year * 100 + 1, args.year * 100 + 12))
            runs.append(client.streamed(year_path))
            json_runs.append(client.streamed(f"/api/v1/revenue/sheet?year={args.year}"))
        ref_ms = statistics.median(r[0] for r in refs)
        first_ms = statistics.median(r[0] for r in runs)
        api_ms = statistics.median(r[1] for r in runs)
        json_ms = statistics.median(r[1] for r in json_runs)
        rate = ref_ms / api_ms
        sheet_ok = first_ms <= GOAL_FIRST_BYTE_MS and rate >= GOAL_RATE
        failed += not sheet_ok

        session = {"Cookie": f"ctvdb_session={cookie}"}
        index = Client(server.port, session)
        index.timed("/reports/")
        index_times = [index.timed("/reports/") for _ in range(args.cached)]
        trivial = throughput(lambda: Client(server.port, session), "/reports/", args.clients, args.seconds)
        endpoints = [
            ("meta", "/api/v1/meta", bearer),
            ("monthly summary", f"/api/v1/reports/monthly_summary?year={args.year}", bearer),
            ("customer revenue", f"/api/v1/reports/customer_revenue?year={args.year}", bearer),
            ("customer revenue, csv", f"/api/v1/reports/customer_revenue?year={args.year}&format=csv", bearer),
            ("AE dashboard", f"/api/v1/reports/ae_dashboard?year={args.year}", bearer),
            ("management performance", f"/api/v1/reports/management_performance?year={args.year}", bearer),
            ("market analysis", f"/api/v1/reports/market_analysis?year={args.year}", bearer),
            ("planning", f"/api/v1/planning?year={args.year}", {"Authorization": f"Bearer {plan_token}"}),
        ]
        for name, path, headers in endpoints:
            c = Client(server.port, headers)
            uncached = []
            for _ in range(args.samples):
                new_data_version(database)
                uncached.append(c.timed(path))
            cached = [c.timed(path) for _ in range(args.cached)]
            rps = throughput(lambda: Client(server.port, headers), path, args.clients, args.seconds)
            results.append((name, pct(uncached, 50), pct(uncached, 95), pct(cached, 50), pct(cached, 95), rps))
            print(f"  measured {name}", file=sys.stderr, flush=True)
        trivial = (trivial + throughput(lambda: Client(server.port, session), "/reports/", args.clients, args.seconds)) / 2
    finally:
        server.stop()

    print(f"\nRevenue sheet, {args.year} ({runs[0][2] / 1e6:.1f} MB of CSV; median of {args.repeat}):")
    print(f"  first byte            {first_ms:8.1f} ms    goal <= {GOAL_FIRST_BYTE_MS:.0f} ms")
    print(f"  whole year, CSV       {api_ms:8.1f} ms")
    print(f"  whole year, JSON      {json_ms:8.1f} ms")
    print(f"  reference (sqlite3 SELECT -> csv, {refs[0][1]:,} rows) {ref_ms:8.1f} ms")
    print(f"  rate vs reference     {rate:8.0%}       goal >= {GOAL_RATE:.0%}   {'met' if sheet_ok else 'MISSED'}")
    print(f"\nPeak RSS of the server: {month_rss:.1f} MB after one month, {five_rss:.1f} MB after five years"
          f" ({five_size / 1e6:.0f} MB of CSV): +{five_rss - month_rss:.1f} MB, goal <= {GOAL_RSS_MB:.0f} MB"
          f"   {'met' if rss_ok else 'MISSED'}")
    index_p95 = pct(index_times, 95)
    print(f"\n{'endpoint':26} {'uncached p50':>12} {'p95':>8} {'cached p50':>11} {'p95':>7} {'p95/index':>9} "
          f"{'req/s':>8} {'vs index':>9}  goals")
    for name, u50, u95, c50, c95, rps in results:
        ok = u95 <= GOAL_UNCACHED_MS and (c95 <= GOAL_CACHED_MS or c95 <= 1.25 * index_p95) and rps >= GOAL_RPS * trivial
        failed += not ok
        print(f"{name:26} {u50:10.1f}ms {u95:6.1f}ms {c50:9.2f}ms {c95:5.2f}ms {c95 / index_p95:8.2f}x "
              f"{rps:8.0f} {rps / trivial:8.0%}  {'met' if ok else 'MISSED'}")
    print(f"{'index page (reference)':26} {'':>12} {'':>8} {pct(index_times, 50):9.2f}ms {index_p95:5.2f}ms "
          f"{'1.00x':>9} {trivial:8.0f} {'100%':>9}")
    print(f"\nLoad average {os.getloadavg()[0]:.2f} at the end (other work on the machine skews the timings).")
    print(f"{'All goals met.' if not failed else f'{failed} goal(s) missed.'}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
