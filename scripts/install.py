#!/usr/bin/env python3
"""Install or update ctvdb on its host (DOMAIN.md §6). Idempotent: run it after every deploy.

    sudo python3 scripts/install.py              # install, enable and (re)start
    sudo python3 scripts/install.py --dry-run    # print the plan, change nothing
    python3 scripts/install.py --root /tmp/tree  # install into a directory tree (tests)

Creates the ctvbooked user and apps-deploy group, the code directory (setgid, no .venv), the
venv (uv sync --locked --no-dev --no-editable, byte-compiled), the data directory owned by the
runtime user, the env files and Litestream's configuration if absent, the Litestream binary
given with --litestream, and the units; disables, moves aside and masks the legacy
flaskapp.service. Standard library only.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import pwd
import grp
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

APP_USER = "ctvbooked"
DEPLOY_GROUP = "apps-deploy"
APP_DIR = "/opt/apps/ctv-bookedbiz-db"
VENV_DIR = "/opt/venvs/ctv-bookedbiz-db"
DATA_DIR = "/var/lib/ctv-bookedbiz-db"
UNIT_DIR = "/etc/systemd/system"
SETTINGS_FILES = {  # file in units/ -> where it goes, its group and mode; written only if absent
    "ctv-bookedbiz-db.env.example": ("/etc/ctv-bookedbiz-db/ctv-bookedbiz-db.env", APP_USER, 0o640),
    "ctv-daily-update.env.example": ("/etc/ctv-daily-update.env", APP_USER, 0o640),
    # The replica's secret key: root only. systemd hands it to the units that need it.
    "litestream.env.example": ("/etc/litestream.env", "root", 0o600),
    # No secrets (it refers to the env file's values): litestream.service reads it as ctvbooked.
    "litestream.yml": ("/etc/litestream.yml", "root", 0o644),
}
ENABLED_UNITS = ["ctv-bookedbiz-db.service", "ctv-daily-update.timer", "ctv-db-backup.timer"]
LITESTREAM = "/usr/local/bin/litestream"
LITESTREAM_UNIT = "litestream.service"
# units/litestream.yml uses Litestream 0.3's keys; 0.5 reads another configuration.
LITESTREAM_VERSION_PREFIX = "v0.3."
LEGACY_UNIT = "flaskapp.service"
# What never belongs in the code directory when it is copied from a checkout.
NOT_CODE = {".git", ".venv", "venv", "var", "__pycache__", "build", "dist", ".pytest_cache", ".mypy_cache",
            ".ruff_cache", "node_modules"}

SOURCE = Path(__file__).resolve().parent.parent


class InstallError(Exception):
    """A step that could not be done; the message says which and why."""


@dataclass
class Host:
    """The machine (or directory tree) being installed into, and what was done to it."""

    root: Path
    dry_run: bool
    changes: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        """Installing onto the running system, where systemd can start things."""
        return self.root == Path("/") and Path("/run/systemd/system").is_dir()

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def do(self, description: str, action=None) -> None:
        self.changes.append(description)
        print(f"{'would ' if self.dry_run else ''}{description}")
        if not self.dry_run and action is not None:
            action()

    def run(self, command: list, description: str | None = None, **kwargs) -> None:
        text = shlex.join(str(c) for c in command)

        def action():
            result = subprocess.run([str(c) for c in command], **kwargs)
            if result.returncode != 0:
                raise InstallError(f"`{text}` failed with exit code {result.returncode}")

        self.do(description or f"run {text}", action)

    def ids(self, user: str, group: str) -> tuple[int, int]:
        """uid and gid in the target tree's own /etc/passwd and /etc/group (-1: not there yet)."""
        if self.root == Path("/"):
            try:
                return pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
            except KeyError:
                pass
        return _lookup(self.path("/etc/passwd"), user), _lookup(self.path("/etc/group"), group)

    def own(self, path: Path, user: str, group: str, mode: int) -> None:
        """Set owner, group and mode of one path if they differ."""
        uid, gid = self.ids(user, group)
        st = path.lstat() if path.exists() else None
        if st is None or (st.st_uid, st.st_gid) != (uid, gid) or (st.st_mode & 0o7777) != mode:
            self.do(f"set {path} to {user}:{group} {mode:04o}",
                    lambda: (os.chown(path, uid, gid), os.chmod(path, mode)))


def _lookup(table: Path, name: str) -> int:
    try:
        for line in table.read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name and len(fields) > 2:
                return int(fields[2])
    except OSError:
        pass
    return -1


def ensure_accounts(host: Host) -> None:
    prefix = [] if host.root == Path("/") else ["--prefix", host.root]
    if host.ids("root", DEPLOY_GROUP)[1] < 0:
        host.run(["groupadd", *prefix, "--system", DEPLOY_GROUP], f"create group {DEPLOY_GROUP}")
    if host.ids(APP_USER, APP_USER)[0] < 0:
        host.run(["useradd", *prefix, "--system", "--user-group", "--home-dir", DATA_DIR, "--no-create-home",
                  "--shell", "/usr/sbin/nologin", "--comment", "CTV booked business database", APP_USER],
                 f"create system user {APP_USER}")


def ensure_dir(host: Host, absolute: str, user: str | None = None, group: str = "", mode: int = 0o755) -> Path:
    """A directory; with `user`, also its owner, group and mode. Without, an existing one is left alone."""
    path = host.path(absolute)
    if not path.is_dir():
        host.do(f"create {path}", lambda: (path.mkdir(parents=True), path.chmod(mode)))
    if user is not None:
        host.own(path, user, group, mode)
    return path


def install_code(host: Host, source: Path) -> Path:
    """The code directory: ctvbooked:apps-deploy, setgid 2775 so files stay in the deploy group."""
    ensure_dir(host, "/opt/apps")
    app = ensure_dir(host, APP_DIR, APP_USER, DEPLOY_GROUP, 0o2775)
    if source.resolve() != app.resolve():
        copy_tree(host, source, app)
    stray = app / ".venv"
    if stray.exists():
        # The service runs from the venv in /opt/venvs; a .venv here is someone's `uv sync`.
        host.do(f"remove stray virtualenv {stray}", lambda: shutil.rmtree(stray))
    return app


def copy_tree(host: Host, source: Path, target: Path) -> None:
    """Copy the project files that differ (no .git, venvs, caches or data); delete nothing."""
    copied = 0
    for directory, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in NOT_CODE and not d.endswith(".egg-info"))
        relative = Path(directory).relative_to(source)
        for name in sorted(filenames):
            src, dst = Path(directory) / name, target / relative / name
            if name.endswith((".pyc", ".db")) or (dst.exists() and filecmp.cmp(src, dst, shallow=False)):
                continue
            copied += 1
            if not host.dry_run:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
    if copied:
        host.do(f"copy {copied} changed files from {source} to {target}")


def fix_code_ownership(host: Host, app: Path) -> None:
    """Everything under the code directory: deploy group can write, setgid directories."""
    uid, gid = host.ids(APP_USER, DEPLOY_GROUP)
    fixes = []
    for directory, dirnames, filenames in os.walk(app):
        for path in [Path(directory)] + [Path(directory) / n for n in filenames]:
            st = path.lstat()
            if path.is_symlink():
                continue
            wanted = 0o2775 if path.is_dir() else (0o775 if st.st_mode & 0o100 else 0o664)
            if (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (uid, gid, wanted):
                fixes.append((path, wanted))
    if fixes:
        host.do(f"set {len(fixes)} paths under {app} to {APP_USER}:{DEPLOY_GROUP}, group-writable",
                lambda: [(os.chown(p, uid, gid), os.chmod(p, m)) for p, m in fixes])


def install_venv(host: Host, app: Path, uv: str | None, python: str | None) -> Path:
    """The venv from the committed uv.lock, byte-compiled (the service cannot write __pycache__)."""
    venv = host.path(VENV_DIR)
    ensure_dir(host, "/opt/venvs")
    uv = uv or shutil.which("uv")
    if uv is None:
        raise InstallError("uv is not installed (https://docs.astral.sh/uv/); give its path with --uv")
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(venv))
    # A uv-managed Python lives under /root, which the hardened service cannot see.
    env.setdefault("UV_PYTHON_PREFERENCE", "only-system")
    command = [uv, "sync", "--locked", "--no-dev", "--no-editable", "--compile-bytecode", "--project", app]
    python = python or ("/usr/bin/python3" if Path("/usr/bin/python3").exists() else None)
    if python:
        command += ["--python", python]
    host.run(command, f"build {venv} with {shlex.join(map(str, command))}", env=env, cwd=app)
    if not host.dry_run:  # the runtime user owns the venv; nobody else can write it
        uid, gid = host.ids(APP_USER, APP_USER)
        changed = 0
        for directory, _, filenames in os.walk(venv):
            for path in [directory] + [os.path.join(directory, n) for n in filenames]:
                st = os.lstat(path)
                mode = stat.S_IMODE(st.st_mode)
                if (st.st_uid, st.st_gid) != (uid, gid) or (mode & 0o022 and not os.path.islink(path)):
                    os.lchown(path, uid, gid)
                    if not os.path.islink(path):
                        os.chmod(path, mode & ~0o022)
                    changed += 1
        if changed:
            host.do(f"set {changed} paths under {venv} to {APP_USER}:{APP_USER}, not group-writable")
    return venv


def install_data(host: Host, venv: Path | None) -> None:
    """The data directory: the runtime user's alone (the deploy group cannot write it)."""
    data = ensure_dir(host, DATA_DIR, APP_USER, APP_USER, 0o750)
    ensure_dir(host, f"{DATA_DIR}/processed", APP_USER, APP_USER, 0o750)
    database = data / "production.db"
    python = venv / "bin" / "python" if venv else None
    if python is not None and (python.exists() or host.dry_run):
        host.run([python, "-m", "ctvdb", "--db", database, "init"],
                 f"migrate {database} (ctvdb init; creates it if absent)", stdout=subprocess.DEVNULL)
    elif not database.exists():
        print(f"skip creating {database}: no venv to run `ctvdb init` with")
    # The sign-in database beside it (users, sessions) is the web service's to write; its name
    # follows ctvdb.db.auth_path: production.db -> production.auth.db.
    auth = database.with_name(f"{database.stem}.auth{database.suffix}")
    for base in (database, auth):
        for path in (base, Path(f"{base}-wal"), Path(f"{base}-shm")):
            if path.exists() or (host.dry_run and path == base and python is not None):
                host.own(path, APP_USER, APP_USER, 0o640)


def install_env_files(host: Host, source: Path) -> None:
    """Settings files, only if absent: they hold tokens and are the operator's to edit."""
    ensure_dir(host, "/etc/ctv-bookedbiz-db", "root", APP_USER, 0o750)
    for example, (absolute, group, mode) in SETTINGS_FILES.items():
        target = host.path(absolute)
        if not target.exists():
            host.do(f"create {target} from units/{example}",
                    lambda s=source / "units" / example, t=target, m=mode: _write_new(s, t, m))
            host.own(target, "root", group, mode)


def _write_new(source: Path, target: Path, mode: int) -> None:
    """A copy of `source` that nobody else could read at any moment (it is made with `mode`)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(source.read_bytes())


def install_litestream(host: Host, binary: str | None) -> bool:
    """The Litestream binary at /usr/local/bin/litestream, copied from `binary` (from the npm
    package @flydotio/litestream-linux-x64, or Litestream's .deb). True if it is installed."""
    target = host.path(LITESTREAM)
    if binary is None:
        if not target.exists():
            print(f"skip {LITESTREAM_UNIT}: no Litestream at {target} (give its binary with --litestream)")
        return target.exists()
    source = Path(binary)
    try:
        version = subprocess.run([source, "version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"cannot run {source} version: {exc}") from None
    if not version.startswith(LITESTREAM_VERSION_PREFIX):
        raise InstallError(f"{source} is Litestream {version or '(unknown)'}; units/litestream.yml is written for "
                           f"{LITESTREAM_VERSION_PREFIX}x (@flydotio/litestream-linux-x64 1.0.1 on npm has v0.3.13)")
    if not (target.is_file() and filecmp.cmp(source, target, shallow=False)):
        ensure_dir(host, str(Path(LITESTREAM).parent))
        host.do(f"install {target} (Litestream {version}) from {source}",
                lambda: (shutil.copyfile(source, f"{target}.new"), os.replace(f"{target}.new", target)))
    host.own(target, "root", "root", 0o755)
    return True


def install_units(host: Host, source: Path, litestream: bool) -> None:
    unit_dir = ensure_dir(host, UNIT_DIR)
    changed = False
    for unit in sorted((source / "units").glob("*.service")) + sorted((source / "units").glob("*.timer")):
        target = unit_dir / unit.name
        if not (target.is_file() and filecmp.cmp(unit, target, shallow=False)):
            host.do(f"install {target}", lambda s=unit, t=target: shutil.copyfile(s, t))
            host.own(target, "root", "root", 0o644)
            changed = True
    systemctl = ["systemctl"] if host.live else ["systemctl", f"--root={host.root}"]
    if host.live and changed:
        host.run(["systemctl", "daemon-reload"])
    retire_legacy(host, unit_dir, systemctl)
    if host.live:
        host.run([*systemctl, "enable", "--now", "ctv-daily-update.timer", "ctv-db-backup.timer"])
        if litestream:
            # --no-block: until /etc/litestream.env names a replica it fails to start, which
            # `ctvdb doctor` reports; the rest of the install is not held up by that.
            host.run([*systemctl, "enable", LITESTREAM_UNIT])
            host.run([*systemctl, "restart", "--no-block", LITESTREAM_UNIT])
        host.run([*systemctl, "enable", "ctv-bookedbiz-db.service"])
        host.run([*systemctl, "restart", "ctv-bookedbiz-db.service"])
    else:
        wanted = ENABLED_UNITS + ([LITESTREAM_UNIT] if litestream else [])
        disabled = [u for u in wanted if _state(systemctl, "is-enabled", u) != "enabled"]
        if disabled:
            host.run([*systemctl, "enable", *disabled])


def retire_legacy(host: Host, unit_dir: Path, systemctl: list[str]) -> None:
    """flaskapp.service (the old dev server on port 8000): disabled, its file moved aside, masked."""
    unit = unit_dir / LEGACY_UNIT
    state = _state(systemctl, "is-enabled", LEGACY_UNIT)  # "" when systemd has never heard of it
    if state == "masked":
        return
    if host.live and state:
        host.run([*systemctl, "disable", "--now", LEGACY_UNIT])
    elif state in ("enabled", "enabled-runtime", "alias", "linked", "indirect"):
        host.run([*systemctl, "disable", LEGACY_UNIT])
    if unit.exists() or unit.is_symlink():
        # Masking needs the name free in /etc/systemd/system; keep the old file for reference.
        aside = unit_dir.parent / f"{LEGACY_UNIT}.moved-aside"
        host.do(f"move {unit} aside to {aside}", lambda: unit.rename(aside))
    host.run([*systemctl, "mask", LEGACY_UNIT])


def _state(systemctl: list[str], verb: str, unit: str) -> str:
    """What `systemctl is-enabled` says of a unit (also when it exits non-zero)."""
    result = subprocess.run([*systemctl, verb, unit], capture_output=True, text=True)
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/", help="install into this directory tree (default: the host)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--source", default=str(SOURCE), help="the checkout to install (default: %(default)s)")
    parser.add_argument("--uv", help="path of the uv executable (default: uv on PATH)")
    parser.add_argument("--python", help="the Python uv builds the venv with (default: /usr/bin/python3)")
    parser.add_argument("--skip-venv", action="store_true", help="leave the venv (and database) as they are")
    parser.add_argument("--litestream", metavar="BINARY",
                        help=f"install this Litestream 0.3 binary as {LITESTREAM} (default: keep the one there)")
    args = parser.parse_args(argv)

    host = Host(root=Path(args.root).resolve(), dry_run=args.dry_run)
    source = Path(args.source).resolve()
    if os.geteuid() != 0 and not args.dry_run:
        print("install: run as root (it creates users and sets owners), or use --dry-run", file=sys.stderr)
        return 2
    os.umask(0o022)  # directories made on the way (/opt, /opt/apps) must stay traversable for the service
    print(f"install: {source} -> {host.root}{' (dry run: nothing is changed)' if args.dry_run else ''}")
    try:
        ensure_accounts(host)
        app = install_code(host, source)
        venv = None if args.skip_venv else install_venv(host, app, args.uv, args.python)
        fix_code_ownership(host, app)
        install_data(host, venv)
        install_env_files(host, source)
        litestream = install_litestream(host, args.litestream)
        install_units(host, source, litestream)
    except (InstallError, OSError) as exc:
        print(f"install: FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"install: {'would make' if args.dry_run else 'made'} {len(host.changes)} changes"
          + ("; nothing to do" if not host.changes else "")
          + ". Next: edit the env files in /etc, then run scripts/verify.py.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
