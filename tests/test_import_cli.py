"""`python -m ctvdb.import` as operators and the timer run it: exit codes, last line, logs, prompt."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time

from ctvdb import db
from xlsx_rows import month_rows, write

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def spots(database) -> int:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT count(*) FROM spots").fetchone()[0]
    finally:
        conn.close()


def import_cmd(*args, **kwargs):
    env = dict(os.environ, CTVDB_IMPORT_CLOCK="2026-11-15")
    return subprocess.run([sys.executable, "-m", "ctvdb.import", *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env, **kwargs)


def test_unattended_import_logs_and_ends_with_one_sentence(tmp_path):
    write(tmp_path / "log.xlsx", {"Commercials": month_rows(NOV, 12) + month_rows(DEC, 8)})
    done = import_cmd(tmp_path / "log.xlsx", "--db", tmp_path / "new.db", "--auto-setup", "--unattended",
                      "--log-file", tmp_path / "import.log", "--summary-json", tmp_path / "summary.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == \
        "Import batch 1 completed: replaced Nov-26..Dec-26 with 20 spots (0 removed)."
    log = (tmp_path / "import.log").read_text()
    assert "Nov-26   replace        12" in log and "Import batch 1 completed" in log
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "COMPLETED" and summary["rows_imported"] == 20
    assert [(m["month"], m["spots_before"], m["spots_after"]) for m in summary["months"]] == [("Nov-26", 0, 12), ("Dec-26", 0, 8)]
    assert round(sum(m["gross_after"] for m in summary["months"]), 2) == \
        round(sum(r.gross for r in month_rows(NOV, 12) + month_rows(DEC, 8)), 2)


def test_exit_status_two_for_usage_errors(tmp_path):
    assert import_cmd("--mode", "weekly", tmp_path / "x.xlsx").returncode == 2
    assert import_cmd().returncode == 2
    done = import_cmd(tmp_path / "x.xlsx", "--today", "yesterday")
    assert done.returncode == 2 and "not a date" in done.stderr


def test_dry_run_previews_and_writes_nothing(tmp_path):
    database = tmp_path / "a.db"
    db.init(database)
    write(tmp_path / "log.xlsx", {"Commercials": month_rows(NOV, 12)})
    done = import_cmd(tmp_path / "log.xlsx", "--db", database, "--dry-run", "--unattended")
    assert done.returncode == 0
    assert done.stdout.strip() == "Dry run: would replace Nov-26 with 12 spots (0 removed); nothing was written."
    assert spots(database) == 0


def test_the_ctvdb_import_subcommand_is_the_same_command(tmp_path):
    write(tmp_path / "log.xlsx", {"Commercials": month_rows(NOV, 5)})
    done = subprocess.run([sys.executable, "-m", "ctvdb", "--db", str(tmp_path / "a.db"), "import",
                           str(tmp_path / "log.xlsx"), "--auto-setup", "--unattended", "--mode", "manual"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert spots(tmp_path / "a.db") == 5


def run_on_terminal(args, answer: str, timeout=60) -> tuple[int, str]:
    """Run the import on a pseudo-terminal, answer its question, return (status, everything shown)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["CTVDB_IMPORT_CLOCK"] = "2026-11-15"
        os.execv(sys.executable, [sys.executable, "-m", "ctvdb.import", *map(str, args)])
    shown, answered, deadline = b"", False, time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            if not answered and b"[y/N]" in shown:
                os.write(fd, answer.encode() + b"\n")
                answered = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_on_a_terminal_it_previews_and_asks_before_writing(tmp_path):
    database = tmp_path / "a.db"
    db.init(database)
    write(tmp_path / "log.xlsx", {"Commercials": month_rows(NOV, 12) + month_rows(DEC, 3)})
    status, shown = run_on_terminal([tmp_path / "log.xlsx", "--db", database], "n")
    assert "Nov-26   replace        12             0        12" in shown
    assert "Write these changes? [y/N]" in shown
    assert "Import cancelled; nothing was changed." in shown
    assert status == 1 and spots(database) == 0
    status, shown = run_on_terminal([tmp_path / "log.xlsx", "--db", database], "y")
    assert status == 0, shown
    assert "reading" in shown and "writing" in shown and "100%" in shown   # the progress bar
    assert "Import batch 1 completed: replaced Nov-26..Dec-26 with 15 spots" in shown
    assert spots(database) == 15


# How an import ends when Python cannot say it (issue 10) ---------------------------------------------

def content(database) -> list:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT count(*), total(gross_rate) FROM spots").fetchall() + \
            conn.execute("SELECT id, status, error_summary FROM import_batches ORDER BY id").fetchall()
    finally:
        conn.close()


def test_a_crash_of_the_reader_still_ends_with_import_failed_and_the_summary(tmp_path):
    """A sheet whose <dimension> understates it (A1:AC50000) with a cell at XFD50000 gets past
    every claim checked before loading, and calamine aborts the process (SIGABRT) when it cannot
    allocate the 50,000 x 16,384 range. The address space is capped so the allocation fails on
    any machine, however much memory it has."""
    import resource

    from xlsx_rows import rewrite, set_dimension, with_cell

    database = tmp_path / "a.db"
    write(tmp_path / "good.xlsx", {"Commercials": month_rows(NOV, 10)})
    assert import_cmd(tmp_path / "good.xlsx", "--db", database, "--auto-setup", "--unattended").returncode == 0
    before = content(database)
    with_cell(tmp_path / "wide.xlsx", "XFD50000")
    rewrite(tmp_path / "wide.xlsx", tmp_path / "liar.xlsx", {"xl/worksheets/sheet1.xml": set_dimension("A1:AC50000")})

    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    done = import_cmd(tmp_path / "liar.xlsx", "--db", database, "--unattended", "--summary-json",
                      tmp_path / "summary.json", preexec_fn=cap_memory)
    last = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr[-2000:])
    assert last == ("Import failed: the import process was killed by SIGABRT while reading the workbook (the "
                    "workbook reader crashed: is the workbook far bigger than it looks?); nothing was changed")
    assert json.loads((tmp_path / "summary.json").read_text()) == {"status": "FAILED", "message": last}
    assert content(database) == before


def test_an_import_killed_while_writing_ends_with_import_failed_and_its_batch_failed(tmp_path):
    """SIGKILL (what the kernel's OOM killer sends under MemoryMax=) of the process doing the
    import, once its data transaction is under way: the command still prints one line, writes
    the summary, exits 1, and its batch is FAILED at once, not RUNNING until the next import."""
    from ctvdb.sample import write_sample

    database = tmp_path / "a.db"
    write(tmp_path / "good.xlsx", {"Commercials": month_rows(NOV, 10)})
    assert import_cmd(tmp_path / "good.xlsx", "--db", database, "--auto-setup", "--unattended").returncode == 0
    before = content(database)
    write_sample(tmp_path / "big.xlsx", rows=30000, months=["Nov-26", "Dec-26"], seed=5)
    env = dict(os.environ, CTVDB_IMPORT_CLOCK="2026-11-15")
    proc = subprocess.Popen([sys.executable, "-m", "ctvdb.import", str(tmp_path / "big.xlsx"), "--db", str(database),
                             "--unattended", "--auto-setup", "--summary-json", str(tmp_path / "summary.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline, worker = time.monotonic() + 60, None
    while time.monotonic() < deadline and worker is None:
        rows = sqlite3.connect(database).execute("SELECT id, pid FROM import_batches WHERE status = 'RUNNING'").fetchall()
        worker = rows[0] if rows else None
        time.sleep(0.005)
    assert worker is not None, "the import never started its batch"
    batch, pid = worker
    assert pid != proc.pid               # the batch belongs to the supervised child
    os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    last = out.strip().splitlines()[-1]
    assert proc.returncode == 1
    assert last == (f"Import failed: the import process was killed by SIGKILL while writing to the database (out "
                    f"of memory? the daily update's MemoryMax=, or the kernel's OOM killer); batch {batch} marked "
                    f"FAILED; nothing was changed")
    assert json.loads((tmp_path / "summary.json").read_text())["message"] == last
    after = content(database)
    assert after[:2] == before[:2]                       # the spots and the earlier batch
    assert after[2][:2] == (batch, "FAILED") and after[2][2].startswith("interrupted: the import process was killed")
