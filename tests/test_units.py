"""The systemd units in units/: they verify cleanly, the timers fire when we say, and the
services are hardened. Needs systemd-analyze (Debian's systemd package; .ci/ops-setup.sh)."""

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "units"
UNIT_FILES = sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
SERVICES = [p for p in UNIT_FILES if p.suffix == ".service"]
SYSTEM_UNITS = Path("/usr/lib/systemd/system")

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze is not installed (apt-get install systemd)")


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(path.read_text().replace("\\\n", " "))
    return parser


def analyze(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, SYSTEMD_PAGER="", **(env or {})))


@pytest.fixture(scope="module")
def scratch_root(tmp_path_factory) -> Path:
    """A directory tree with the host's system units, our units, and a stand-in for every
    executable our units start, so `verify --root` resolves them as on the real host."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True)
    for unit in UNIT_FILES:
        shutil.copy(unit, target / unit.name)
    for unit in SERVICES:
        executable = root / read_unit(unit)["Service"]["ExecStart"].split()[0].lstrip("/")
        executable.parent.mkdir(parents=True, exist_ok=True)
        executable.write_text("#!/bin/sh\n")
        executable.chmod(0o755)
    return root


def test_the_units_are_the_ones_production_needs():
    assert {p.name for p in UNIT_FILES} == {
        "ctv-bookedbiz-db.service", "ctv-daily-update.service", "ctv-daily-update.timer",
        "ctv-db-backup.service", "ctv-db-backup.timer", "litestream.service"}


@pytest.mark.parametrize("unit", UNIT_FILES, ids=lambda p: p.name)
def test_verify_exits_0_and_prints_nothing(scratch_root, unit):
    result = analyze("verify", f"--root={scratch_root}", f"/etc/systemd/system/{unit.name}")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_verify_would_catch_an_unknown_key(scratch_root):
    """Unknown keys only warn (exit 0), which is why the test above wants empty output."""
    broken = scratch_root / "etc/systemd/system/ctv-broken.service"
    broken.write_text("[Service]\nExecStart=/usr/bin/python3\nRestartt=always\n")
    result = analyze("verify", f"--root={scratch_root}", "/etc/systemd/system/ctv-broken.service")
    assert "Unknown key 'Restartt'" in result.stderr


@pytest.mark.parametrize("timer, when", [("ctv-daily-update.timer", "04:30:00"), ("ctv-db-backup.timer", "03:30:00")])
def test_timers_fire_daily_at_their_local_time(timer, when):
    section = read_unit(UNITS / timer)["Timer"]
    result = analyze("calendar", "--iterations=2", section["OnCalendar"], env={"TZ": "America/Los_Angeles"})
    assert result.returncode == 0, result.stderr
    assert f"Normalized form: *-*-* {when}" in result.stdout
    elapses = re.findall(r"(?:Next elapse|Iter\. #2): \w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) (P[SD]T)", result.stdout)
    assert len(elapses) == 2 and all(time == when for _, time, _ in elapses)
    assert elapses[0][0] != elapses[1][0]  # one a day
    assert section["Persistent"] == "true" and 0 < int(section["RandomizedDelaySec"]) <= 300


def test_the_daily_update_waits_for_the_backup_and_has_a_start_timeout():
    unit = read_unit(UNITS / "ctv-daily-update.service")
    assert unit["Service"]["Type"] == "oneshot"
    assert unit["Service"]["TimeoutStartSec"] == "1h"
    assert "ctv-db-backup.service" in unit["Unit"]["After"]


def test_the_daily_update_s_memory_is_bounded_and_a_kill_is_reported_not_fatal():
    service = read_unit(UNITS / "ctv-daily-update.service")["Service"]
    assert (service["MemoryMax"], service["MemorySwapMax"], service["OOMPolicy"]) == ("1G", "0", "continue")


def test_the_web_service_shuts_down_gracefully_before_systemd_kills_it():
    service = read_unit(UNITS / "ctv-bookedbiz-db.service")["Service"]
    graceful = int(re.search(r"--timeout-graceful-shutdown (\d+)", service["ExecStart"]).group(1))
    assert graceful < int(service["TimeoutStopSec"])
    assert service["Restart"] == "on-failure"
    assert (service["User"], service["Group"]) == ("ctvbooked", "ctvbooked")
    assert "--host 0.0.0.0 --port 8000" in service["ExecStart"]
    assert service["EnvironmentFile"] == "/etc/ctv-bookedbiz-db/ctv-bookedbiz-db.env"


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_services_start_scripts_that_exist_and_write_only_the_data_directory(unit):
    service = read_unit(unit)["Service"]
    for word in service["ExecStart"].split():
        if word.startswith("/opt/apps/ctv-bookedbiz-db/"):
            assert (ROOT / word.removeprefix("/opt/apps/ctv-bookedbiz-db/")).is_file(), word
    assert service["ProtectSystem"] == "strict"
    assert service["StateDirectory"] == "ctv-bookedbiz-db"
    # Litestream may also write a file replica on a second disk mounted at its one place.
    expected = "-/srv/ctv-bookedbiz-db-replica" if unit.name == "litestream.service" else None
    assert service.get("ReadWritePaths") == expected


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_offline_security_exposure_is_at_most_2_5(unit):
    result = analyze("security", "--offline=true", "--no-pager", str(unit))
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout).group(1))
    assert score <= 2.5, result.stdout


@pytest.mark.parametrize("example, required", [
    ("ctv-bookedbiz-db.env.example", {"DATABASE_PATH", "DATA_PATH"}),
    ("ctv-daily-update.env.example", {"DATABASE_PATH", "NTFY_TOPIC"}),
])
def test_example_env_files_set_what_the_services_need(example, required):
    from standins import script
    values = script("opsenv").read_env_file(UNITS / example)
    assert set(values) == required
    assert values["DATABASE_PATH"] == "/var/lib/ctv-bookedbiz-db/production.db"


def test_uvicorn_does_not_trust_forwarded_headers_itself():
    # uvicorn believes X-Forwarded-For/-Proto from 127.0.0.1 by default; ctvdb's own trusted-proxy
    # setting must be the only thing that decides who the client is and whether it came over https.
    exec_start = read_unit(UNITS / "ctv-bookedbiz-db.service")["Service"]["ExecStart"]
    assert "--no-proxy-headers" in exec_start.split()


def test_litestream_reads_its_settings_from_the_env_file_and_no_secret_is_in_the_repository():
    config = (UNITS / "litestream.yml").read_text()
    example = (UNITS / "litestream.env.example").read_text()
    referred = set(re.findall(r"\$\{(\w+)\}", config))
    assert referred == {"LITESTREAM_REPLICA_URL", "LITESTREAM_S3_ENDPOINT", "LITESTREAM_S3_REGION"}
    for name in referred | {"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"}:
        assert re.search(rf"^#?{name}=", example, re.M), f"{name} is not documented in litestream.env.example"
    from standins import script
    values = script("opsenv").read_env_file(UNITS / "litestream.env.example")
    assert not {name for name in values if "KEY" in name}, "keys belong in /etc/litestream.env only"
    assert "secret-access-key" not in config and "access-key-id" not in config
    service = read_unit(UNITS / "litestream.service")["Service"]
    assert service["EnvironmentFile"] == "/etc/litestream.env"
    assert service["ExecStart"] == "/usr/local/bin/litestream replicate -config /etc/litestream.yml"
    assert (service["User"], service["Group"]) == ("ctvbooked", "ctvbooked")  # the database's owner


def test_the_daily_update_gets_the_replica_settings_as_a_credential_with_a_fallback():
    """LoadCredential= from a missing file would stop the import from starting (exit 243):
    SetCredential= with the same name is the fallback systemd uses then."""
    service = (UNITS / "ctv-daily-update.service").read_text()
    assert "\nLoadCredential=litestream.env:/etc/litestream.env\n" in service
    assert re.search(r"^SetCredential=litestream\.env:", service, re.M)


def test_the_web_service_runs_uvicorn_as_ctvdb_serve_does():
    """ctvdb.web.commands.UVICORN_OPTIONS says how ctvdb runs uvicorn (the guarded protocol among
    them); the unit's ExecStart, read by uvicorn's own command line, gives exactly those."""
    from uvicorn.main import main as uvicorn_command

    from ctvdb.web.commands import UVICORN_OPTIONS

    argv = read_unit(UNITS / "ctv-bookedbiz-db.service")["Service"]["ExecStart"].split()
    assert argv[0] == "/opt/venvs/ctv-bookedbiz-db/bin/uvicorn"   # scripts/verify.py looks for it
    given = uvicorn_command.make_context("uvicorn", argv[1:]).params
    defaults = uvicorn_command.make_context("uvicorn", argv[1:2]).params
    changed = {name: value for name, value in given.items() if value != defaults[name]}
    assert given["port"] == 8000
    assert changed == {"host": "0.0.0.0", "app_dir": "/opt/venvs/ctv-bookedbiz-db",
                       **UVICORN_OPTIONS}


def test_the_web_service_has_descriptors_for_its_connection_cap():
    from uvicorn.main import main as uvicorn_command

    from ctvdb import config
    from ctvdb.web.guard import ACCEPT_BURSTS, RESERVED_FDS

    service = read_unit(UNITS / "ctv-bookedbiz-db.service")["Service"]
    backlog = uvicorn_command.make_context("uvicorn", service["ExecStart"].split()[1:]).params["backlog"]
    needed = config.load({}).max_connections + ACCEPT_BURSTS * backlog + RESERVED_FDS
    assert int(service["LimitNOFILE"]) >= needed
