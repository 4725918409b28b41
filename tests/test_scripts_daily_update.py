"""scripts/daily_update.py run as systemd runs it, against stand-in ntfy/Slack servers and a
stand-in import (plus one run of the real `python -m ctvdb.import`)."""

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from standins import SCRIPTS, FakeImport, FakeLitestream, NtfyStandIn, SlackStandIn, closed_port_url, script, summary

DAILY_UPDATE = SCRIPTS / "daily_update.py"


@dataclass
class Site:
    """A host's worth of files for one daily update: env file, database, workbook, venv."""

    root: Path
    env_file: Path
    database: Path
    workbook: Path
    log_file: Path
    lock_file: Path
    fake: FakeImport
    litestream: FakeLitestream
    ntfy: NtfyStandIn
    slack: SlackStandIn
    settings: dict
    extra_environment: dict

    def write_env(self, **changes) -> None:
        self.settings.update(changes)
        lines = [f'{name}="{value}"' for name, value in self.settings.items() if value is not None]
        self.env_file.write_text("# written by the test\n" + "\n".join(lines) + "\n", encoding="utf-8")

    def run(self, *args, timeout=60, preexec_fn=None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NTFY_", "SLACK_", "DAILY_UPDATE_", "LITESTREAM", "REPLICA_", "CREDENTIALS_"))}
        env.update(self.extra_environment)
        return subprocess.run([DAILY_UPDATE, "--env-file", self.env_file, *args], capture_output=True,
                              text=True, timeout=timeout, env=env, preexec_fn=preexec_fn)

    def ntfy_messages(self) -> list[tuple[str, str, str, str]]:
        """(Priority, Tags, Title, body) of each message ntfy accepted."""
        return [(r.headers["Priority"], r.headers["Tags"], r.headers["Title"], r.text)
                for r in self.ntfy.received if r.status == 200]

    def slack_texts(self) -> list[str]:
        return [json.loads(r.body)["text"] for r in self.slack.received if r.status == 200]


@pytest.fixture
def site(tmp_path):
    with NtfyStandIn() as ntfy, SlackStandIn() as slack:
        data = tmp_path / "var-lib"
        data.mkdir()
        database = data / "production.db"
        sqlite3.connect(database).close()
        workbook = data / "Commercial Log 261125.xlsx"
        workbook.write_bytes(b"PK stand-in workbook")
        site = Site(
            root=tmp_path, env_file=tmp_path / "ctv-daily-update.env", database=database, workbook=workbook,
            log_file=data / "logs" / "daily-update.log", lock_file=data / ".ctv-daily-update.lock",
            fake=FakeImport(tmp_path), litestream=FakeLitestream(tmp_path), ntfy=ntfy, slack=slack, settings={},
            extra_environment={},
        )
        site.litestream.configure({database: "412ms"})  # a replica that keeps up
        site.write_env(
            DATABASE_PATH=database, NTFY_SERVER=ntfy.url, NTFY_TOPIC="ctv-ops", SLACK_WEBHOOK_URL=slack.webhook,
            PYTHON_VENV=site.fake.python, DAILY_UPDATE_DATA_FILE=workbook, NOTIFY_TIMEOUT="2",
            NOTIFY_RETRY_DELAY="0.05", LITESTREAM=site.litestream.binary, LITESTREAM_CONFIG=site.litestream.config,
            LITESTREAM_ENV_FILE=site.litestream.env_file, REPLICA_WAIT="0",
        )
        yield site


def test_success_runs_the_import_and_reports_each_replaced_month(site):
    site.fake.configure(summary=summary(months=[
        {"month": "Nov-26", "replaced": True, "spots_before": 1200, "spots_after": 1250,
         "gross_before": 100000.0, "gross_after": 101500.5},
        {"month": "Dec-26", "replaced": True, "spots_before": 0, "spots_after": 310,
         "gross_before": 0.0, "gross_after": 28750.0},
        {"month": "Oct-26", "replaced": False, "spots_before": 990, "spots_after": 990,
         "gross_before": 1.0, "gross_after": 1.0},
    ]))
    result = site.run()
    assert result.returncode == 0, result.stderr
    [argv] = site.fake.runs
    assert argv[:9] == ["-m", "ctvdb.import", str(site.workbook), "--auto-setup", "--unattended",
                        "--log-file", str(site.log_file), "--db", str(site.database)]
    assert argv[9] == "--summary-json"
    started, done = site.ntfy_messages()
    assert started[:3] == ("2", "information_source", "CTV daily update started")
    assert done[:3] == ("3", "white_check_mark", "CTV daily update: import completed")
    body = done[3]
    assert "Rows: 12,345 read, 12,300 imported, 0 rejected, 45 trade (not revenue)." in body
    assert "Nov-26: spots 1,200 → 1,250, gross $100,000.00 → $101,500.50" in body
    assert "Dec-26: spots 0 → 310, gross $0.00 → $28,750.00" in body
    assert "Oct-26: kept as it was (spots 990)" in body
    assert len(site.slack_texts()) == 2 and "Nov-26: spots 1,200 → 1,250" in site.slack_texts()[1]


def test_rejected_rows_make_a_priority_4_warning(site):
    site.fake.configure(summary=summary(rows_rejected=3))
    assert site.run().returncode == 0
    priority, tags, title, body = site.ntfy_messages()[-1]
    assert (priority, tags, title) == ("4", "warning", "CTV daily update: completed with 3 rejected rows")
    assert f"3 rejected rows are listed in {site.log_file}." in body


def test_without_a_summary_file_the_import_s_last_line_is_the_report(site):
    site.fake.configure(summary=None, stdout="Reading sheets\nImported 812 spots into 2 months.")
    assert site.run().returncode == 0
    assert "\nImported 812 spots into 2 months.\nReplica: " in site.ntfy_messages()[-1][3]


def test_a_non_ascii_customer_name_reaches_ntfy_and_slack_intact(site):
    message = "Largest change: Phở Hòa Café (華語電視) +$4,200.00."
    site.fake.configure(summary=summary(message=message))
    assert site.run().returncode == 0
    assert message in site.ntfy_messages()[-1][3]
    assert message in site.slack_texts()[-1]


@pytest.mark.parametrize("breakage, named", [
    ("no_workbook", "data file {workbook} does not exist"),
    ("no_python", "Python {python} is not an executable file (PYTHON_VENV)"),
    ("python_not_executable", "Python {python} is not an executable file (PYTHON_VENV)"),
    ("no_database", "database {database} does not exist (DATABASE_PATH)"),
])
def test_each_missing_prerequisite_is_an_error_and_nothing_runs(site, breakage, named):
    if breakage == "no_workbook":
        site.workbook.unlink()
    elif breakage == "no_python":
        site.write_env(PYTHON_VENV=site.root / "missing" / "python")
    elif breakage == "python_not_executable":
        site.fake.python.chmod(0o644)
    else:
        site.database.unlink()
    result = site.run()
    assert result.returncode == 1
    assert site.fake.runs == []
    priority, tags, title, body = site.ntfy_messages()[-1]
    assert (priority, tags, title) == ("5", "rotating_light", "CTV daily update FAILED: cannot start")
    python = site.settings["PYTHON_VENV"]
    assert named.format(workbook=site.workbook, python=python, database=site.database) in body
    assert not site.database.exists() or breakage != "no_database"  # never creates a database


def test_a_failed_import_reports_its_exit_code_and_exactly_the_last_five_log_lines(site):
    site.log_file.parent.mkdir()
    site.log_file.write_text("yesterday: fine\n" * 3)
    lines = [f"2026-11-25 04:30:0{i} step {i}" for i in range(1, 9)]
    site.fake.configure(exit=3, log_lines=lines, summary=summary(status="FAILED"))
    result = site.run()
    assert result.returncode == 3
    priority, tags, title, body = site.ntfy_messages()[-1]
    assert (priority, tags, title) == ("5", "rotating_light", "CTV daily update FAILED")
    verdict, header, *tail = body.splitlines()
    assert verdict == "Daily import of Commercial Log 261125.xlsx failed with exit code 3."
    assert header == f"Last 5 log lines ({site.log_file}):"
    assert tail == lines[-5:]
    assert "failed with exit code 3" in site.slack_texts()[-1]


def test_a_failure_with_an_empty_log_shows_the_import_s_stderr(site):
    site.fake.configure(exit=1, log_lines=[], stderr="Traceback (most recent call last):\nImportError: no ctvdb")
    assert site.run().returncode == 1
    body = site.ntfy_messages()[-1][3]
    assert "last lines on stderr:\nTraceback (most recent call last):\nImportError: no ctvdb" in body


def test_exit_0_with_a_failed_summary_is_still_a_failure(site):
    site.fake.configure(exit=0, summary=summary(status="FAILED", message="No sheet found."))
    assert site.run().returncode == 1
    assert site.ntfy_messages()[-1][:3] == ("5", "rotating_light", "CTV daily update FAILED")
    assert "exited 0 but its summary says FAILED: No sheet found." in site.ntfy_messages()[-1][3]


def test_an_import_killed_by_a_signal_is_a_failure(site):
    site.fake.configure(signal=9, log_lines=["reading sheets"])
    assert site.run().returncode == 1
    body = site.ntfy_messages()[-1][3]
    assert body.startswith("Daily import of Commercial Log 261125.xlsx was killed by signal 9.\n")
    assert body.endswith("\nreading sheets")


def test_a_python_that_cannot_be_executed_is_reported(site):
    broken = site.root / "broken-python"
    broken.write_text("not a program\n")
    broken.chmod(0o755)
    site.write_env(PYTHON_VENV=broken)
    assert site.run().returncode == 1
    assert "could not be started: cannot run" in site.ntfy_messages()[-1][3]


def test_huge_log_lines_are_trimmed_under_the_ntfy_limit_keeping_the_verdict(site):
    site.fake.configure(exit=1, log_lines=[f"{i}: " + "Ω" * 1500 for i in range(6)])
    assert site.run().returncode == 1
    request = site.ntfy.received[-1]
    assert request.status == 200 and len(request.body) <= 4096
    assert request.text.startswith("Daily import of Commercial Log 261125.xlsx failed with exit code 1.\n…")


def test_a_second_run_while_one_holds_the_lock_notifies_and_exits_1_at_once(site):
    fd = os.open(site.lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        result = site.run()
    finally:
        os.close(fd)
    assert result.returncode == 1 and time.monotonic() - started < 10
    assert site.fake.runs == []
    [(priority, _, title, body)] = site.ntfy_messages()
    assert (priority, title) == ("5", "CTV daily update FAILED: already running")


def test_two_real_runs_at_once_import_once(site):
    site.fake.configure(seconds=2)
    first = subprocess.Popen([DAILY_UPDATE, "--env-file", site.env_file], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    for _ in range(100):  # until the first run has taken the lock
        if site.lock_file.exists() and site.lock_file.read_text().strip():
            break
        time.sleep(0.05)
    second = site.run()
    assert first.wait(timeout=30) == 0
    assert second.returncode == 1
    assert len(site.fake.runs) == 1


@pytest.mark.parametrize("import_exit", [0, 4])
def test_a_notification_server_that_is_down_does_not_change_the_exit_status(site, import_exit):
    site.write_env(NTFY_SERVER=closed_port_url(), SLACK_WEBHOOK_URL=closed_port_url() + "/services/x")
    site.fake.configure(exit=import_exit, summary=summary())
    result = site.run()
    assert result.returncode == import_exit
    assert "ntfy: POST to" in result.stderr and "Slack: POST to" in result.stderr
    assert "ctv-ops" not in result.stderr and "/services/x" not in result.stderr  # secrets stay out of the journal


@pytest.mark.parametrize("import_exit", [0, 1])
def test_a_slow_notification_server_times_out_and_the_import_decides(site, import_exit):
    site.ntfy.delay = 3
    site.write_env(NOTIFY_TIMEOUT="0.3", SLACK_WEBHOOK_URL=None)
    site.fake.configure(exit=import_exit, summary=summary())
    started = time.monotonic()
    result = site.run()
    assert result.returncode == import_exit
    assert time.monotonic() - started < 8  # two messages, two short attempts each
    assert len(site.fake.runs) == 1


def test_rejected_credentials_are_logged_and_the_run_still_succeeds(site):
    site.ntfy.token = "tk_right"
    site.write_env(NTFY_TOKEN="tk_wrong")
    assert site.run().returncode == 0
    assert [r.status for r in site.ntfy.received] == [403, 403]
    site.write_env(NTFY_TOKEN="tk_right")
    assert site.run().returncode == 0
    assert site.ntfy.received[-1].headers["Authorization"] == "Bearer tk_right"


def test_an_import_that_hangs_is_stopped_and_reported(site):
    site.write_env(DAILY_UPDATE_TIMEOUT="1")
    site.fake.configure(seconds=30)
    started = time.monotonic()
    assert site.run().returncode == 1
    assert time.monotonic() - started < 15
    assert "did not finish within 1 s and was stopped." in site.ntfy_messages()[-1][3]


def test_data_file_option_imports_another_workbook(site):
    other = site.root / "Commercial Log 261124.xlsx"
    other.write_bytes(b"PK yesterday's workbook")
    assert site.run("--data-file", str(other)).returncode == 0
    assert site.fake.runs[0][2] == str(other)


def test_a_missing_env_file_is_an_error(site):
    result = subprocess.run([DAILY_UPDATE, "--env-file", site.root / "absent.env"], capture_output=True, text=True)
    assert result.returncode == 1 and "cannot read settings file" in result.stderr


def test_the_default_workbook_is_today_s_commercial_log_in_the_data_directory():
    daily_update = script("daily_update")
    settings = daily_update.Settings.from_values({"DATA_PATH": "/srv/in", "DATABASE_PATH": "/d/p.db"},
                                                 dt.date(2026, 11, 5))
    assert settings.data_file == Path("/srv/in/Commercial Log 261105.xlsx")
    assert settings.python == Path("/opt/venvs/ctv-bookedbiz-db/bin/python")
    assert settings.log_file == Path("/d/logs/daily-update.log")


def test_a_replica_that_keeps_up_is_one_line_of_the_report(site):
    assert site.run().returncode == 0
    priority, _, title, body = site.ntfy_messages()[-1]
    assert (priority, title) == ("3", "CTV daily update: import completed")
    assert body.splitlines()[-1] == "Replica: the replica at s3://ctv-replica/production of production.db is 0.4 s " \
                                    "behind at most."
    assert [run["argv"][0] for run in site.litestream.runs] == ["databases", "generations"]


def test_a_replica_behind_raises_the_priority_and_says_by_how_much(site):
    site.litestream.configure({site.database: "5m3s"})
    assert site.run().returncode == 0
    priority, tags, title, body = site.ntfy_messages()[-1]
    assert (priority, tags, title) == ("4", "warning", "CTV daily update: import completed (replica behind)")
    assert body.splitlines()[-1] == "Replica NOT up to date: production.db → replica: 303.0 s behind (limit 60 s)."
    assert "Replica NOT up to date" in site.slack_texts()[-1]


def test_the_limit_is_a_setting(site):
    site.litestream.configure({site.database: "5m3s"})
    site.write_env(REPLICA_MAX_LAG="600")
    assert site.run().returncode == 0
    assert site.ntfy_messages()[-1][0] == "3"


def test_the_sign_in_database_must_be_replicated_too(site):
    auth = site.database.with_name("production.auth.db")
    sqlite3.connect(auth).close()
    assert site.run().returncode == 0
    body = site.ntfy_messages()[-1][3]
    assert f"Replica NOT up to date: {auth} is not replicated: it has no replica in {site.litestream.config}." in body
    site.litestream.configure({site.database: "1.5s", auth: "200ms"})
    assert site.run().returncode == 0
    assert site.ntfy_messages()[-1][3].endswith(" of production.auth.db, production.db is 1.5 s behind at most.")


@pytest.mark.parametrize("breakage, said", [
    ("litestream fails", "`litestream databases` failed: failed to run: cannot read config: permission denied."),
    ("no configuration", "no Litestream configuration {config}: the only copies of the database are on this host."),
    ("no binary", "Litestream is not installed at {binary}."),
    ("nothing replicated", "production.db → replica: nothing replicated (limit 60 s)."),
])
def test_a_replica_that_cannot_be_checked_is_a_warning_and_never_fails_the_job(site, breakage, said):
    if breakage == "litestream fails":
        site.litestream.configure({}, exit=1, stderr='time=2026-11-25T04:31:00Z level=ERROR msg="failed to run" '
                                                      'error="cannot read config: permission denied"')
    elif breakage == "no configuration":
        site.litestream.config.unlink()
    elif breakage == "no binary":
        site.litestream.binary.unlink()
    else:
        site.litestream.configure({site.database: None})
    assert site.run().returncode == 0
    priority, _, title, body = site.ntfy_messages()[-1]
    assert (priority, title) == ("4", "CTV daily update: import completed (replica behind)")
    expected = said.format(config=site.litestream.config, binary=site.litestream.binary)
    assert body.splitlines()[-1] == f"Replica NOT up to date: {expected}"


def test_under_systemd_the_replica_settings_come_from_the_credentials_directory(site):
    """ctv-daily-update.service gets /etc/litestream.env (root-only) through LoadCredential=."""
    credentials = site.root / "credentials"
    credentials.mkdir()
    (credentials / "litestream.env").write_text("LITESTREAM_REPLICA_URL=s3://from-the-credential/production\n")
    site.write_env(LITESTREAM_ENV_FILE=None)
    site.extra_environment["CREDENTIALS_DIRECTORY"] = str(credentials)
    assert site.run().returncode == 0
    assert {run["url"] for run in site.litestream.runs} == {"s3://from-the-credential/production"}
    assert "Replica: the replica at s3://from-the-credential/production of production.db" in site.ntfy_messages()[-1][3]


def test_the_real_import_runs_under_the_daily_update(site, replicate, litestream_binary, s3_standin):
    """The real import, with the real Litestream replicating to moto's S3 server meanwhile."""
    from ctvdb import codes, sample

    # The current month: a daily import freezes the previous one, so a fixed month would stop
    # being imported once the calendar moved past it.
    today = dt.date.today()
    month = codes.month_label(today.year * 100 + today.month)

    site.database.unlink()
    subprocess.run([sys.executable, "-m", "ctvdb", "--db", site.database, "init"], check=True, capture_output=True)
    site.workbook.unlink()
    sample.write_sample(site.workbook, rows=500, months=[month], seed=1)
    bucket = f"daily-update-{os.getpid()}"
    s3_standin.create_bucket(bucket)
    config = site.root / "litestream.yml"
    # `ctvdb init` made the sign-in database beside it: both are replicated.
    config.write_text("dbs:\n" + "".join(
        f"  - path: {path}\n    replicas:\n      - name: replica\n"
        f"        url: ${{LITESTREAM_REPLICA_URL}}/{path.name}\n"
        "        endpoint: ${LITESTREAM_S3_ENDPOINT}\n        sync-interval: 1s\n"
        for path in (site.database, site.database.with_name("production.auth.db"))))
    values = {"LITESTREAM_REPLICA_URL": f"s3://{bucket}/production", "LITESTREAM_S3_ENDPOINT": s3_standin.endpoint,
              "LITESTREAM_ACCESS_KEY_ID": "test", "LITESTREAM_SECRET_ACCESS_KEY": "test"}
    env_file = site.root / "litestream.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    replicate(config, values).wait_for("wal segment written")
    site.write_env(PYTHON_VENV=sys.executable, LITESTREAM=litestream_binary, LITESTREAM_CONFIG=config,
                   LITESTREAM_ENV_FILE=env_file, REPLICA_WAIT="30")
    result = site.run(timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    priority, tags, title, body = site.ntfy_messages()[-1]
    assert priority in ("3", "4") and f"{month}: spots 0 →" in body
    said = re.search(rf"Replica: the replica at s3://{bucket}/production of production.auth.db, production.db is "
                     r"(\S+) s behind", body)
    lag = float(said[1])
    assert lag <= 2.0, body
    with sqlite3.connect(site.database) as conn:
        assert conn.execute("SELECT status FROM import_batches ORDER BY rowid DESC LIMIT 1").fetchone()[0] == "COMPLETED"


@contextlib.contextmanager
def memory_cgroup(limit: int):
    """A real memory cgroup of the kernel's (what systemd makes of MemoryMax=), v2 or v1, with
    swap included in the limit where the kernel counts it; yields the file to write a pid to."""
    v2, v1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/memory")
    name = f"ctvdb-test-{os.getpid()}"
    if (v2 / "cgroup.controllers").exists() and "memory" in (v2 / "cgroup.subtree_control").read_text():
        group = v2 / name
        group.mkdir()
        (group / "memory.max").write_text(str(limit))
        if (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
    elif (v1 / "memory.limit_in_bytes").exists():
        group = v1 / name
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(limit))
        if (group / "memory.memsw.limit_in_bytes").exists():
            (group / "memory.memsw.limit_in_bytes").write_text(str(limit))
    else:
        pytest.fail("no writable memory cgroup (v2 with the memory controller, or v1) on this machine")
    try:
        yield group / "cgroup.procs"
    finally:
        for _ in range(50):   # the killed processes leave the group a moment after they end
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a cgroup needs root")
def test_an_import_past_its_memory_bound_is_killed_by_the_kernel_and_reported(site):
    """The daily update under a kernel memory limit (the unit's MemoryMax=, here 120 MB) that a
    20,000-row import is past: the kernel kills the import, the supervisor prints its one line,
    and the daily update notifies the failure (Priority 5) with that line in the body."""
    from ctvdb import codes, sample

    today = dt.date.today()
    month = codes.month_label(today.year * 100 + today.month)
    site.database.unlink()
    subprocess.run([sys.executable, "-m", "ctvdb", "--db", site.database, "init"], check=True, capture_output=True)
    site.workbook.unlink()
    sample.write_sample(site.workbook, rows=20000, months=[month], seed=1)
    site.write_env(PYTHON_VENV=sys.executable)
    with memory_cgroup(120 << 20) as procs:
        result = site.run(timeout=300, preexec_fn=lambda: procs.write_text(str(os.getpid())))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Import failed: the import process was killed by SIGKILL while " in result.stdout, result.stdout
    priority, tags, title, body = site.ntfy_messages()[-1]
    assert (priority, title) == ("5", "CTV daily update FAILED")
    assert "failed with exit code 1" in body and "killed by SIGKILL" in body, body
    with sqlite3.connect(site.database) as conn:
        assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 0
        assert conn.execute("SELECT status FROM import_batches").fetchall() in ([], [("FAILED",)])


# Issue 13: every imported workbook is kept in processed/, for `ctvdb pace backfill` ----------

def processed(site) -> Path:
    return site.database.parent / "processed"


def test_an_imported_workbook_is_kept_in_processed_named_with_its_date(site):
    content = site.workbook.read_bytes()
    assert site.run().returncode == 0
    kept = processed(site) / "Commercial Log 261125.xlsx"
    assert not site.workbook.exists() and kept.read_bytes() == content
    body = site.ntfy_messages()[-1][3]
    assert body.splitlines()[1] == f"Workbook kept as {kept}."
    assert body.splitlines()[-1].startswith("Replica: ")


def test_a_workbook_without_a_date_in_its_name_is_kept_under_today_s(site):
    export = site.workbook.with_name("export.xlsx")
    site.workbook.rename(export)
    site.write_env(DAILY_UPDATE_DATA_FILE=export)
    assert site.run().returncode == 0
    assert (processed(site) / f"Commercial Log {dt.date.today():%y%m%d}.xlsx").exists() and not export.exists()


def test_a_second_run_the_same_day_imports_the_kept_copy_again(site):
    assert site.run().returncode == 0
    assert site.run().returncode == 0
    kept = processed(site) / site.workbook.name
    assert [argv[2] for argv in site.fake.runs] == [str(site.workbook), str(kept)]
    assert kept.exists()


def test_a_failed_import_leaves_the_workbook_where_it_was(site):
    site.fake.configure(exit=2, summary=summary(status="FAILED"))
    assert site.run().returncode == 2
    assert site.workbook.exists() and not processed(site).exists()


def test_kept_workbooks_older_than_the_setting_are_deleted(site):
    today = dt.date.today()
    todays = site.workbook.with_name(f"Commercial Log {today:%y%m%d}.xlsx")
    site.workbook.rename(todays)
    folder = processed(site)
    folder.mkdir()
    old, recent, undated = (folder / f"Commercial Log {today - dt.timedelta(days=6):%y%m%d}.xlsx",
                            folder / f"Commercial Log {today - dt.timedelta(days=5):%y%m%d}.xlsx",
                            folder / "notes.xlsx")
    for path in (old, recent, undated):
        path.write_bytes(b"PK kept")
    site.write_env(DAILY_UPDATE_DATA_FILE=todays, DAILY_UPDATE_KEEP_WORKBOOKS_DAYS="5")
    assert site.run().returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([recent.name, undated.name, todays.name])
    assert "Removed 1 kept workbook older than 5 days." in site.ntfy_messages()[-1][3]


def test_without_the_setting_kept_workbooks_stay_for_ever(site):
    folder = processed(site)
    folder.mkdir()
    ancient = folder / "Commercial Log 200101.xlsx"
    ancient.write_bytes(b"PK kept")
    assert site.run().returncode == 0
    assert ancient.exists()


def test_a_keep_setting_that_is_not_a_number_of_days_is_refused(site):
    site.write_env(DAILY_UPDATE_KEEP_WORKBOOKS_DAYS="forever")
    assert site.run().returncode == 1
    assert site.fake.runs == []
    priority, _, title, body = site.ntfy_messages()[-1]
    assert (priority, title) == ("5", "CTV daily update FAILED: bad settings")
    assert "DAILY_UPDATE_KEEP_WORKBOOKS_DAYS must be a whole number of days (1 or more), not 'forever'" in body


def test_a_workbook_that_cannot_be_kept_is_a_warning_and_never_fails_the_job(site):
    processed(site).write_text("a file where the folder should be")
    assert site.run().returncode == 0
    priority, _, title, body = site.ntfy_messages()[-1]
    assert (priority, title) == ("4", "CTV daily update: import completed (workbook not kept)")
    assert f"Workbook NOT kept: moving {site.workbook} to {processed(site) / site.workbook.name} failed" in body
    assert site.workbook.exists()


def test_the_kept_workbooks_folder_is_the_data_directory_s_processed():
    daily_update = script("daily_update")
    settings = daily_update.Settings.from_values({"DATA_PATH": "/srv/in", "DATABASE_PATH": "/d/p.db"},
                                                 dt.date(2026, 11, 5))
    assert settings.processed_dir == Path("/srv/in/processed") and settings.keep_workbooks_days is None
    assert daily_update.Settings.from_values({"DATABASE_PATH": "/d/p.db"}, dt.date(2026, 11, 5)).processed_dir \
        == Path("/d/processed")
