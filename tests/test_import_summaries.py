"""A large import builds its three big summaries (and the two rate summaries) in a process of its own (summaries.Background)
while it writes the spots: the rows must be exactly the database's own, a failing process must
cost nothing but time, and a killed import must not leave the process behind."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctvdb import importer, rate_summary, summaries
from ctvdb.sample import write_sample
from xlsx_rows import Row, write

TABLES = list(summaries.TABLES) + ["rates"]


def summary_rows(database) -> dict[str, list[tuple]]:
    with sqlite3.connect(database) as conn:
        out = {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4").fetchall() for table in summaries.TABLES}
        out["rates"] = rate_summary.contents(conn)     # packed: compared decoded
        return out


def import_twice(tmp_path, monkeypatch, label: str) -> Path:
    """Three months, then one of them again from another workbook (the daily case: the other
    months' summaries stay as they were)."""
    database = tmp_path / f"{label}.db"
    first = write_sample(tmp_path / "first.xlsx", rows=3000, months="Sep-26..Nov-26", seed=11, messy=True)
    again = write_sample(tmp_path / "again.xlsx", rows=1500, months="Oct-26", seed=12)
    importer.import_workbook(database, first.path, mode="manual", auto_setup=True)
    importer.import_workbook(database, again.path, mode="manual", auto_setup=True)
    return database


def test_the_background_process_builds_the_databases_own_rows_to_the_last_bit(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "SUMMARIES_IN_BACKGROUND_FROM", 10**9)
    in_sql = summary_rows(import_twice(tmp_path, monkeypatch, "sql"))
    started = []
    real = summaries.Background

    class Counted(real):
        def __init__(self, *args, **kwargs):
            started.append(args[1])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(summaries, "Background", Counted)
    monkeypatch.setattr(importer, "SUMMARIES_IN_BACKGROUND_FROM", 0)
    in_background = summary_rows(import_twice(tmp_path, monkeypatch, "background"))
    assert started == [[202609, 202610, 202611], [202610]]
    for table in TABLES:
        assert in_background[table] == in_sql[table], table
    assert len(in_sql["language_month_summary"]) > 100


def test_sums_that_depend_on_the_order_of_addition_come_out_the_same(tmp_path, monkeypatch):
    """One bill code's spots alternate between two revenue types, so the database adds up its
    customer_code_summary group in index order (revenue type, then id), not in row order; with
    these amounts the two orders give different floating-point sums."""
    rng = random.Random(3)
    rows = [Row(bill_code="Admerasia:McDonald's", gross=rng.randrange(1, 10**7) / 100, line=n,
                revenue_type=rng.choice(["Internal Ad Sales", "Direct Response Sales"])) for n in range(60)]
    in_row_order = 0.0
    for row in rows:
        in_row_order += row.gross
    in_index_order = 0.0
    for row in sorted(rows, key=lambda r: r.revenue_type):   # stable: row order within a type
        in_index_order += row.gross
    assert in_row_order != in_index_order
    write(tmp_path / "log.xlsx", {"Commercials": rows})
    found = {}
    for label, threshold in (("sql", 10**9), ("background", 0)):
        monkeypatch.setattr(importer, "SUMMARIES_IN_BACKGROUND_FROM", threshold)
        database = tmp_path / f"{label}.db"
        importer.import_workbook(database, tmp_path / "log.xlsx", mode="manual", auto_setup=True)
        found[label] = summary_rows(database)
    assert found["background"] == found["sql"]
    (code_row,) = found["sql"]["customer_code_summary"]
    assert code_row[5] == 60 and code_row[6] == pytest.approx(in_row_order)  # after month, customer, AE, code, language


def test_a_failing_background_process_costs_only_time(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(importer, "SUMMARIES_IN_BACKGROUND_FROM", 10**9)
    in_sql = summary_rows(import_twice(tmp_path, monkeypatch, "sql"))
    monkeypatch.setattr(importer, "SUMMARIES_IN_BACKGROUND_FROM", 0)
    monkeypatch.setattr(summaries.Background, "COMMAND", ("-c", "raise SystemExit('summaries: no luck')"))
    with caplog.at_level(logging.WARNING, logger="ctvdb.import"):
        database = import_twice(tmp_path, monkeypatch, "failed")
    assert summary_rows(database) == in_sql
    warnings = [r.getMessage() for r in caplog.records if "summaries process failed" in r.getMessage()]
    assert warnings == ["summaries process failed (summaries: no luck); building them in the database instead"] * 2


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def summaries_pids(pid: int) -> list[int]:
    """The summaries processes below `pid` (the import runs in a child of its supervisor)."""
    found, todo = [], child_pids(pid)
    while todo:
        child = todo.pop()
        try:
            if Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-m", b"ctvdb.summaries"]:
                found.append(child)
        except OSError:
            continue
        todo.extend(child_pids(child))
    return found


def test_killing_the_import_ends_its_background_process(tmp_path):
    workbook = write_sample(tmp_path / "big.xlsx", rows=60000, months=["Nov-26", "Dec-26"], seed=5).path
    database = tmp_path / "a.db"
    proc = subprocess.Popen([sys.executable, "-m", "ctvdb.import", str(workbook), "--db", str(database),
                             "--unattended", "--auto-setup", "--mode", "manual"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (children := summaries_pids(proc.pid)):
        if time.monotonic() > deadline or proc.poll() is not None:
            pytest.fail("the import never started its summaries process")
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)   # the supervisor: the import dies with it, then the summaries
    proc.wait()
    deadline = time.monotonic() + 20
    while Path(f"/proc/{children[0]}").exists() and time.monotonic() < deadline:
        # A zombie has been reaped by init (we are not its parent) or is gone: either way, ended.
        status = Path(f"/proc/{children[0]}/status")
        try:
            if "zombie" in status.read_text():
                break
        except OSError:
            break
        time.sleep(0.05)
    else:
        if Path(f"/proc/{children[0]}").exists():
            os.kill(children[0], signal.SIGKILL)
            pytest.fail("the summaries process outlived the killed import by 20 s")
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM customer_month_summary").fetchone()[0] == 0
