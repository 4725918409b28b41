"""scripts/install.py into a scratch directory tree (--root), checked with `systemctl --root`."""

import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from standins import SCRIPTS

INSTALL = SCRIPTS / "install.py"
LEGACY = "[Unit]\nDescription=legacy Flask dev server\n[Service]\nExecStart=/usr/bin/flask run -p 8000\n" \
         "[Install]\nWantedBy=multi-user.target\n"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="install.py creates users and sets owners: needs root"),
    pytest.mark.skipif(not (shutil.which("systemctl") and shutil.which("useradd")),
                       reason="systemctl/useradd are not installed (apt-get install systemd passwd)"),
]


def new_root(tmp_path: Path) -> Path:
    """An empty host: account files with only root, and the legacy service enabled."""
    root = tmp_path / "root"
    (root / "etc/systemd/system/multi-user.target.wants").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("root:*::\n")
    (root / "etc/systemd/system/flaskapp.service").write_text(LEGACY)
    (root / "etc/systemd/system/multi-user.target.wants/flaskapp.service").symlink_to(
        "/etc/systemd/system/flaskapp.service")
    return root


def install(root: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([INSTALL, "--root", root, *args], capture_output=True, text=True, timeout=300)


def ids(root: Path, table: str, name: str) -> int:
    for line in (root / "etc" / table).read_text().splitlines():
        if line.split(":")[0] == name:
            return int(line.split(":")[2])
    raise AssertionError(f"{name} not in {table}")


def owner(path: Path) -> tuple[int, int, str]:
    st = path.stat()
    return st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))


def systemctl(root: Path, *args) -> str:
    return subprocess.run(["systemctl", f"--root={root}", *args], capture_output=True, text=True).stdout


def snapshot(root: Path) -> dict:
    return {str(p): (p.lstat().st_mode, p.lstat().st_size) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory, litestream_binary):
    """One install without the venv, with Litestream, shared by the checks below."""
    root = new_root(tmp_path_factory.mktemp("host"))
    result = install(root, "--skip-venv", "--litestream", litestream_binary)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path):
    root = new_root(tmp_path)
    before = snapshot(root)
    result = install(root, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == before
    plan = result.stdout
    for step in ("would create group apps-deploy", "would create system user ctvbooked",
                 f"would set {root}/opt/apps/ctv-bookedbiz-db to ctvbooked:apps-deploy 2775",
                 "would build", "uv sync --locked --no-dev --no-editable --compile-bytecode",
                 f"would move {root}/etc/systemd/system/flaskapp.service aside",
                 f"would run systemctl --root={root} mask flaskapp.service"):
        assert step in plan


def test_units_are_enabled_and_the_legacy_service_is_masked(installed):
    for unit in ("ctv-bookedbiz-db.service", "ctv-daily-update.timer", "ctv-db-backup.timer", "litestream.service"):
        assert systemctl(installed, "is-enabled", unit).strip() == "enabled", unit
    assert systemctl(installed, "is-enabled", "flaskapp.service").strip() == "masked"
    assert os.readlink(installed / "etc/systemd/system/flaskapp.service") == "/dev/null"
    assert not (installed / "etc/systemd/system/multi-user.target.wants/flaskapp.service").exists()
    assert (installed / "etc/systemd/flaskapp.service.moved-aside").read_text() == LEGACY
    listed = systemctl(installed, "list-unit-files", "ctv-*", "--no-legend")
    assert "ctv-daily-update.service" in listed and "ctv-db-backup.timer" in listed


def test_accounts_directories_and_owners(installed):
    user, deploy = ids(installed, "passwd", "ctvbooked"), ids(installed, "group", "apps-deploy")
    own_group = ids(installed, "group", "ctvbooked")
    passwd_line = next(l for l in (installed / "etc/passwd").read_text().splitlines() if l.startswith("ctvbooked:"))
    assert passwd_line.endswith(":/var/lib/ctv-bookedbiz-db:/usr/sbin/nologin")
    app = installed / "opt/apps/ctv-bookedbiz-db"
    assert owner(app) == (user, deploy, "0o2775")
    assert (app / "scripts/daily_update.py").stat().st_mode & 0o111
    assert owner(app / "scripts/daily_update.py")[1] == deploy
    assert not any(p.name == ".venv" for p in (installed / "opt/apps").rglob("*"))
    data = installed / "var/lib/ctv-bookedbiz-db"
    assert owner(data) == (user, own_group, "0o750")  # the deploy group cannot write data
    assert owner(data / "processed") == (user, own_group, "0o750")
    for env_file in ("etc/ctv-daily-update.env", "etc/ctv-bookedbiz-db/ctv-bookedbiz-db.env"):
        assert owner(installed / env_file) == (0, own_group, "0o640")
    assert owner(installed / "etc/litestream.env") == (0, 0, "0o600")  # the replica's secret key: root only
    assert owner(installed / "etc/litestream.yml") == (0, 0, "0o644")


def test_litestream_is_installed_with_its_configuration_and_unit(installed, litestream_binary):
    binary = installed / "usr/local/bin/litestream"
    assert owner(binary) == (0, 0, "0o755")
    assert binary.read_bytes() == litestream_binary.read_bytes()
    units = Path(__file__).resolve().parent.parent / "units"
    assert (installed / "etc/litestream.yml").read_text() == (units / "litestream.yml").read_text()
    assert (installed / "etc/litestream.env").read_text() == (units / "litestream.env.example").read_text()
    assert (installed / "etc/systemd/system/litestream.service").read_text() == \
        (units / "litestream.service").read_text()
    # The installed binary reads the installed configuration: both databases, one replica each.
    result = subprocess.run([binary, "databases", "-config", installed / "etc/litestream.yml"], capture_output=True,
                            text=True, env={"LITESTREAM_REPLICA_URL": "s3://bucket/production"})
    assert result.returncode == 0, result.stdout
    assert [line.split() for line in result.stdout.splitlines()[1:]] == [
        ["/var/lib/ctv-bookedbiz-db/production.db", "replica"],
        ["/var/lib/ctv-bookedbiz-db/production.auth.db", "replica"]]


def test_without_litestream_its_unit_is_installed_but_not_enabled(tmp_path):
    root = new_root(tmp_path)
    result = install(root, "--skip-venv")
    assert result.returncode == 0, result.stderr
    assert "skip litestream.service: no Litestream at" in result.stdout
    assert (root / "etc/systemd/system/litestream.service").is_file()
    assert systemctl(root, "is-enabled", "litestream.service").strip() == "disabled"
    assert systemctl(root, "is-enabled", "ctv-bookedbiz-db.service").strip() == "enabled"


def test_a_litestream_of_another_version_is_refused(tmp_path):
    other = tmp_path / "litestream"
    other.write_text("#!/bin/sh\necho v0.5.2\n")
    other.chmod(0o755)
    root = new_root(tmp_path)
    result = install(root, "--skip-venv", "--litestream", other)
    assert result.returncode == 1
    assert "is Litestream v0.5.2; units/litestream.yml is written for v0.3.x" in result.stderr
    assert not (root / "usr/local/bin/litestream").exists()


def test_a_second_run_changes_nothing_and_keeps_edited_env_files(installed):
    env_file = installed / "etc/ctv-daily-update.env"
    env_file.write_text("NTFY_TOPIC=edited-by-the-operator\n")
    stray = installed / "opt/apps/ctv-bookedbiz-db/.venv"
    stray.mkdir()
    litestream_env = installed / "etc/litestream.env"
    litestream_env.write_text("LITESTREAM_REPLICA_URL=s3://edited/production\n")
    result = install(installed, "--skip-venv")
    assert result.returncode == 0, result.stderr
    assert f"remove stray virtualenv {stray}" in result.stdout and not stray.exists()
    assert env_file.read_text() == "NTFY_TOPIC=edited-by-the-operator\n"
    assert litestream_env.read_text() == "LITESTREAM_REPLICA_URL=s3://edited/production\n"
    again = install(installed, "--skip-venv")
    assert "made 0 changes; nothing to do" in again.stdout, again.stdout


def test_without_root_it_refuses_unless_dry_run(tmp_path):
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", INSTALL,
                             "--root", tmp_path], capture_output=True, text=True)
    assert result.returncode == 2 and "run as root" in result.stderr


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed")
def test_the_venv_is_built_from_the_lock_byte_compiled_and_owned_by_the_runtime_user(tmp_path):
    root = new_root(tmp_path)
    result = install(root)
    assert result.returncode == 0, result.stdout + result.stderr
    venv = root / "opt/venvs/ctv-bookedbiz-db"
    user = ids(root, "passwd", "ctvbooked")
    site = next(venv.glob("lib/python3*/site-packages"))
    assert (site / "ctvdb").is_dir() and not (site / "ctvdb").is_symlink()  # not editable
    assert list((site / "ctvdb/__pycache__").glob("*.pyc")), "bytecode is compiled at install time"
    assert not list(site.glob("__editable__*"))
    assert not list(site.glob("pytest*")), "no dev dependencies"
    assert (venv / "bin/uvicorn").exists()
    for path in [venv, *venv.rglob("*")]:
        if not path.is_symlink():
            assert path.lstat().st_uid == user and not path.lstat().st_mode & 0o022, path
    database = root / "var/lib/ctv-bookedbiz-db/production.db"
    assert owner(database) == (user, ids(root, "group", "ctvbooked"), "0o640")
    # the sign-in database beside it, which the web service writes (sessions, sign-in limits)
    assert owner(database.with_name("production.auth.db")) == (user, ids(root, "group", "ctvbooked"), "0o640")
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert not (root / "opt/apps/ctv-bookedbiz-db/.venv").exists()
