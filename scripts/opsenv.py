#!/usr/bin/env python3
"""Settings and the run lock shared by the unattended jobs (daily update, backup).

Settings come from an environment file read the way systemd reads `EnvironmentFile=`
(KEY=VALUE lines, single or double quotes, `#`/`;` comments, backslash continuations),
never by executing it. Run as a script it prints what a file sets, with secrets masked:

    opsenv.py /etc/ctv-daily-update.env
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import sys
from pathlib import Path

COMMENTS = "#;"
WHITESPACE = " \t\n\r"
NEWLINE = "\n\r"
# Inside double quotes a backslash escapes only these, as in the shell; before any other
# character it stays in the value.
DOUBLE_QUOTE_ESCAPABLE = '"\\`$'
VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_NAME = re.compile(r"TOKEN|WEBHOOK|PASSWORD|SECRET", re.IGNORECASE)


class AlreadyRunning(Exception):
    """Another run holds the lock."""


def parse_env(text: str) -> dict[str, str]:
    """The assignments in `text`, as systemd's EnvironmentFile= would read them.

    A state machine over characters: quotes may open and close anywhere in a value and the
    pieces join up (`A="x"'y'z` is `xyz`); unquoted values lose trailing whitespace; a line
    without `=` is ignored, and so is a name that is not a valid variable name.
    """
    found: dict[str, str] = {}
    state = "pre_key"
    key: list[str] = []
    value: list[str] = []
    trailing_ws = 0  # unquoted whitespace at the end of `value`, chopped when the line ends

    def push() -> None:
        name = "".join(key).rstrip(WHITESPACE)
        text_value = "".join(value)
        if trailing_ws:
            text_value = text_value[:-trailing_ws]
        if VALID_NAME.fullmatch(name):
            found[name] = text_value

    for c in text:
        if state == "pre_key":
            if c in COMMENTS:
                state = "comment"
            elif c not in WHITESPACE:
                state, key, value, trailing_ws = "key", [c], [], 0
        elif state == "key":
            if c in NEWLINE:
                state = "pre_key"
            elif c == "=":
                state = "pre_value"
            else:
                key.append(c)
        elif state in ("pre_value", "value"):
            if c in NEWLINE:
                push()
                state = "pre_key"
            elif c == "'" and state == "pre_value":
                state = "single"
            elif c == '"' and state == "pre_value":
                state = "double"
            elif c == "\\":
                state, trailing_ws = "value_escape", 0
            elif state == "pre_value" and c in WHITESPACE:
                pass
            else:
                state = "value"
                value.append(c)
                trailing_ws = trailing_ws + 1 if c in WHITESPACE else 0
        elif state == "value_escape":
            state = "value"
            if c not in NEWLINE:  # backslash-newline joins the next line
                value.append(c)
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value.append(c)
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value.append(c)
        elif state == "double_escape":
            state = "double"
            if c in DOUBLE_QUOTE_ESCAPABLE:
                value.append(c)
            elif c != "\n":
                value.extend(("\\", c))
        elif state == "comment":
            if c == "\\":
                state = "comment_escape"
            elif c in NEWLINE:
                state = "pre_key"
        elif state == "comment_escape":
            state = "pre_key" if c in NEWLINE else "comment"
    if state not in ("pre_key", "key", "comment", "comment_escape"):
        push()
    return found


def read_env_file(path: str | os.PathLike) -> dict[str, str]:
    """Parse an environment file; OSError if it cannot be read."""
    return parse_env(Path(path).read_text(encoding="utf-8"))


def load_settings(path: str | os.PathLike, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment overlaid with the file, as a unit with EnvironmentFile= sees it."""
    merged = dict(os.environ if environ is None else environ)
    merged.update(read_env_file(path))
    return merged


def auth_database(database: str | os.PathLike) -> Path:
    """The sign-in database beside a main database: DIR/NAME.db -> DIR/NAME.auth.db.

    The same rule as ctvdb's own (users, sessions and sign-in limits live in that second
    file); repeated here because the scripts do not import ctvdb. Keep the two in step.
    """
    path = Path(database)
    return path.with_name(f"{path.stem}.auth{path.suffix or '.db'}")


def hold_lock(path: str | os.PathLike) -> int:
    """Take an exclusive flock on `path` until this process exits; AlreadyRunning if it is held.

    The kernel drops the lock when the process ends, so a crashed run never leaves it behind.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyRunning(f"another run holds the lock {path}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print what an environment file sets, as systemd reads it.")
    parser.add_argument("env_file")
    args = parser.parse_args(argv)
    try:
        values = read_env_file(args.env_file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"opsenv: cannot read {args.env_file}: {exc}", file=sys.stderr)
        return 1
    for name, value in values.items():
        shown = "(set, hidden)" if SECRET_NAME.search(name) and value else repr(value)
        print(f"{name}={shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
