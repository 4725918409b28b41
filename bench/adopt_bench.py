"""Adopt speed and memory, against ctvdb's own import of the same spots in the same run (issue 17).

    uv run python bench/adopt_bench.py [--spots 100000] [--months Jan-22..Dec-26] [--keep DIR]

Writes a Commercial Log with `ctvdb sample`, reads it with ctvdb's reader and writes its spots
into a database in CTV BookedBiz DB's layout (tests/source_db.py: customers, agencies, markets,
months as `Mmm-YY`); the other system is never run. Then times, each in a fresh process:
(a) `python -m ctvdb.import` of the workbook into a new database (manual mode), and (b)
`python -m ctvdb adopt` of the source into another new one. Prints spots/s of each, their ratio
(goal: adopt ≥ 50 % of the import's rate), the adopt process's peak memory (goal ≤ 500 MB,
measured as its wrapper's RUSAGE_CHILDREN ru_maxrss) and the load average: the machine is shared
and noisy, so the ratio is the figure to compare. Run it at 1.5 M spots only when told how.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import source_db  # noqa: E402  (tests/, as the tests import it)

from ctvdb import codes, workbook  # noqa: E402
from ctvdb.rows import SPOT_COLUMNS, RowReader  # noqa: E402
from ctvdb.sample import write_sample  # noqa: E402

_AT = {name: SPOT_COLUMNS.index(name) for name in SPOT_COLUMNS}
# One log of 1.5 M spots is a single sheet of about 1.2 GB of XML, above the bound a workbook may
# claim by default (1 GB): this run, and the import it starts, allow 4 GB.
XML_MB = 4096
os.environ["CTVDB_MAX_XML_MB"] = str(XML_MB)
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - start
if done.returncode:
    sys.stderr.write(done.stderr[-3000:])
    raise SystemExit(done.returncode)
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def build_source(book_path: Path, path: Path) -> int:
    """The workbook's spots in the source's layout; returns how many were written."""
    conn = source_db.create_source(path)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    markets: dict[str, int] = {}
    agencies: dict[str, int] = {}
    customers: dict[str, int] = {}
    reader = RowReader()
    pending, written = [], 0
    with workbook.Workbook.open(book_path, max_xml_bytes=XML_MB << 20) as book:
        for part in book.parts():
            for row in part.rows:
                if reader.is_trade(row):
                    continue
                spot = reader.read(row)
                if spot is None:
                    continue
                v = spot.values
                code = spot.bill_code
                if code not in customers:
                    chain, _ = codes.split_bill_code(code)
                    agency_id = None
                    if chain:
                        if chain[0] not in agencies:
                            agencies[chain[0]] = source_db.agency(conn, None, chain[0])
                        agency_id = agencies[chain[0]]
                    customers[code] = source_db.customer(conn, None, code, agency_id=agency_id)
                market = v[_AT["market_code"]]
                if market and market not in markets:
                    markets[market] = source_db.market(conn, market, codes.MARKETS.get(market, market))
                pending.append(source_db.spot_row(
                    bill_code=code, air_date=v[_AT["air_date"]], broadcast_month=v[_AT["month_label"]],
                    end_date=v[_AT["end_date"]], day_of_week=v[_AT["day_of_week"]], time_in=v[_AT["time_in"]],
                    time_out=v[_AT["time_out"]], length_seconds=str(v[_AT["length_seconds"]] or ""),
                    media=v[_AT["media"]], comments=v[_AT["comments"]], language_code=v[_AT["language_code"]],
                    format=v[_AT["format"]], sequence_number=v[_AT["sequence_number"]],
                    line_number=v[_AT["line_number"]], spot_type=v[_AT["spot_type"]] or "",
                    estimate=v[_AT["estimate"]], gross_rate=v[_AT["gross_rate"]], make_good=v[_AT["make_good"]],
                    spot_value=v[_AT["spot_value"]], broker_fees=v[_AT["broker_fees"]],
                    priority=v[_AT["priority"]], station_net=v[_AT["station_net"]],
                    sales_person=v[_AT["sales_person"]], revenue_type=v[_AT["revenue_type"]],
                    billing_type=v[_AT["billing_type"]], agency_flag=v[_AT["agency_flag"]],
                    affidavit_flag=v[_AT["affidavit_flag"]], contract=v[_AT["contract"]], market_name=market,
                    customer_id=customers[code], market_id=markets.get(market)))
                if len(pending) >= 50_000:
                    conn.executemany(source_db.INSERT_SPOT, pending)
                    written += len(pending)
                    pending.clear()
    conn.executemany(source_db.INSERT_SPOT, pending)
    written += len(pending)
    conn.commit()
    conn.close()
    return written


def measure(command: list[str]) -> tuple[float, int]:
    """(seconds, peak resident KiB) of `command` run in a wrapper process of its own."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr}")
    seconds, kib = done.stdout.split()
    return float(seconds), int(kib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spots", type=int, default=100_000)
    parser.add_argument("--months", default="Jan-22..Dec-26")
    parser.add_argument("--keep", help="keep the files in this directory (default: a temporary one, removed)")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="adopt-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        book = folder / "Commercial Log 261124.xlsx"
        source = folder / "source.db"
        for stale in (source, folder / "imported.db", folder / "adopted.db"):
            for path in (stale, stale.with_name(stale.stem + ".auth.db")):
                path.unlink(missing_ok=True)
        began = time.perf_counter()
        write_sample(book, rows=args.spots, months=args.months, seed=17)
        spots = build_source(book, source)
        print(f"built {book.name} and a source database of {spots:,} spots in {time.perf_counter() - began:.1f} s")
        env_python = [sys.executable]
        import_s, import_kib = measure(env_python + ["-m", "ctvdb.import", str(book), "--db", str(folder / "imported.db"),
                                                     "--mode", "manual", "--auto-setup", "--unattended"])
        adopt_s, adopt_kib = measure(env_python + ["-m", "ctvdb", "adopt", str(source), "--db",
                                                   str(folder / "adopted.db")])
        import_rate, adopt_rate = spots / import_s, spots / adopt_s
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"import: {import_s:8.1f} s  {import_rate:10,.0f} spots/s  peak {import_kib / 1024:6.0f} MB")
        print(f"adopt:  {adopt_s:8.1f} s  {adopt_rate:10,.0f} spots/s  peak {adopt_kib / 1024:6.0f} MB"
              f"  (goal ≤ 500 MB: {'met' if adopt_kib <= 500 * 1024 else 'NOT met'})")
        ratio = adopt_rate / import_rate
        print(f"adopt rate / import rate: {ratio:.2f} (goal ≥ 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")
        print(f"load average: {load}")
        with sqlite3.connect(folder / "adopted.db") as conn:
            print(f"adopted spots: {conn.execute('SELECT count(*) FROM spots').fetchone()[0]:,}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
