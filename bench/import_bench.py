"""Import speed and memory, against python-calamine's raw read of the same file in the same run.

    uv run python bench/import_bench.py [--rows 100000] [--repeat 3] [--free-text]

Writes a Commercial Log with `ctvdb sample`, then times (a) python-calamine reading every row of
every importable sheet and (b) the full `python -m ctvdb.import` into a new database, each in a
fresh process, best of --repeat. Prints rows/s of each, their ratio (goal ≥ 0.6) and the import's
peak memory (goal ≤ 400 MB). The machine is shared and noisy: the ratio is the figure to compare.

The steps every import runs after writing its spots (issue 13: the day's booking snapshot, the
contracts, the account signals) are timed inside the import and reported as a share of it (goal
≤ 10 %): for the import into a new database, and, when the web benchmark's 1.5 M-spot database
exists (var/bench/web-1500000.db, built by bench/web_bench.py), for a daily import of the same
workbook into a copy of it, where signals and snapshots have five years of customers to read.

--free-text rewrites the workbook so that columns H and I hold a different text on every row,
all in the shared-strings table, as a log whose programme and comment cells are free text would
(a 10 MB table instead of the sample's 60 KB): the case the parallel reader gains least on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

RAW_READ = """
import sys, python_calamine
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
rows = 0
for name in book.sheet_names:
    for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)[1:]:
        rows += 1
print(rows)
"""


def raw_read(workbook: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RAW_READ, str(workbook)], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, int(done.stdout)


_TEXT_CELL = re.compile(rb'<c r="([HI])(\d+)"([^>]*?) t="s"([^>]*)><v>(\d+)</v></c>')


def free_text(source: Path, target: Path) -> int:
    """Copy the workbook with a unique shared string in every H and I cell; returns the table's size."""
    with zipfile.ZipFile(source) as old:
        table = old.read("xl/sharedStrings.xml")
        strings = re.findall(rb"<si><t[^>]*>(.*?)</t></si>", table, re.S)

        def unique(m: re.Match) -> bytes:
            strings.append(strings[int(m.group(5))] + b" - note " + m.group(1) + m.group(2))
            return b'<c r="%s%s"%s t="s"%s><v>%d</v></c>' % (m.group(1), m.group(2), m.group(3), m.group(4),
                                                            len(strings) - 1)

        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
            for item in old.infolist():
                if item.filename == "xl/sharedStrings.xml":
                    continue
                data = old.read(item.filename)
                new.writestr(item.filename, _TEXT_CELL.sub(unique, data) if "worksheets/" in item.filename else data)
            body = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
            new.writestr("xl/sharedStrings.xml",
                         b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
                         b'openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
                         % (len(strings), len(strings), body))
    return len(body)


ROOT = Path(__file__).resolve().parent.parent
BIG = ROOT / "var" / "bench" / "web-1500000.db"


def timed_import(workbook: Path, database: Path, mode: str) -> tuple[float, float, dict]:
    """(seconds, peak MB, the after-import steps' seconds) of one `python -m ctvdb.import`."""
    summary = database.with_suffix(".summary.json")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ctvdb.import", str(workbook), "--db", str(database),
                             "--auto-setup", "--unattended", "--mode", mode, "--summary-json", str(summary)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(proc.pid, 0)   # wait4 gives this one child's peak resident memory
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"import failed: {proc.stdout.read().strip()}")
    proc.stdout.close()
    return elapsed, usage.ru_maxrss / 1024, json.loads(summary.read_text()).get("after_import_seconds", {})


def share_line(label: str, elapsed: float, steps: dict) -> str:
    spent = sum(steps.values())
    parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps.items())
    return (f"after-import steps, {label}: {spent:.2f} s of {elapsed:.2f} s = {100 * spent / elapsed:.1f} %"
            f"  ({parts}; goal <= 10 %)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--free-text", action="store_true", help="unique shared strings in columns H and I")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ctvdb-bench-") as folder:
        workbook = Path(folder) / "Commercial Log 261124.xlsx"
        subprocess.run([sys.executable, "-m", "ctvdb", "sample", str(workbook), "--rows", str(args.rows),
                        "--months", "Sep-26..Feb-27", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        if args.free_text:
            plain, workbook = workbook, Path(folder) / "Commercial Log 261124 free text.xlsx"
            size = free_text(plain, workbook)
            print(f"free text: {size / 1e6:.1f} MB of shared strings")
        raw_times, import_times, peaks, shares = [], [], [], []
        for attempt in range(args.repeat):
            elapsed, rows = raw_read(workbook)
            raw_times.append(elapsed)
            database = Path(folder) / f"bench-{attempt}.db"
            elapsed, peak, steps = timed_import(workbook, database, "manual")
            import_times.append(elapsed)
            peaks.append(peak)
            shares.append((elapsed, steps))
        raw, full = min(raw_times), min(import_times)
        print(f"workbook: {rows:,} data rows, {workbook.stat().st_size / 1e6:.1f} MB")
        print(f"python-calamine raw read : {rows / raw:>9,.0f} rows/s  ({raw:.2f} s, best of {args.repeat})")
        print(f"full import (new db)     : {rows / full:>9,.0f} rows/s  ({full:.2f} s, best of {args.repeat})")
        print(f"ratio import / raw read  : {raw / full:.2f}   (goal >= 0.60)")
        print(f"import peak memory       : {max(peaks):.0f} MB  (goal <= 400 MB)")
        print(share_line("new database", *min(shares, key=lambda s: s[0])))
        if BIG.exists():
            big = Path(folder) / "big.db"
            shutil.copyfile(BIG, big)
            subprocess.run([sys.executable, "-m", "ctvdb", "--db", str(big), "migrate"], check=True,
                           stdout=subprocess.DEVNULL)   # the web bench may have built it at an older version
            elapsed, _, steps = timed_import(workbook, big, "daily")
            print(share_line(f"daily import into a copy of {BIG.name}", elapsed, steps))
        else:
            print(f"({BIG} not built: run bench/web_bench.py once to measure the steps at 1.5 M spots)")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
