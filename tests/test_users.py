"""`ctvdb users add / list / passwd / disable` (ctvdb/users.py)."""

import io
import logging
from datetime import timedelta

import pytest

from ctvdb import auth, cli, db

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

PASSWORD = "correct horse battery"






class Terminal(io.StringIO):
    """Standard input that is a terminal, for the tests that answer the password prompt."""

    def isatty(self) -> bool:
        return True


def run(db_path, monkeypatch, *args, stdin=""):
    monkeypatch.setattr("sys.stdin", stdin if isinstance(stdin, io.StringIO) else io.StringIO(stdin))
    return cli.main(["--db", str(db_path), "users", *args])


def user(db_path, email):
    conn = db.connect_auth(db_path)
    try:
        return auth.get_user(conn, email)
    finally:
        conn.close()


def test_add_reads_the_password_from_stdin_and_names_the_database(db_path, monkeypatch, capsys):
    assert run(db_path, monkeypatch, "add", "Jane@Example.com", "--role", "ae", "--ae", "jane doe",
               "--name", "Jane Doe", "--password-stdin", stdin=PASSWORD + "\n") == 0
    out, err = capsys.readouterr()
    assert "Added jane@example.com (ae JANE DOE)." in out
    assert f"database {db_path}" in err
    assert "no spots have sales person 'JANE DOE'" in err
    assert PASSWORD not in out + err
    added = user(db_path, "jane@example.com")
    assert (added.role, added.ae, added.name) == ("ae", "JANE DOE", "Jane Doe")


def test_add_prompts_twice_and_refuses_two_different_passwords(db_path, monkeypatch, capsys):
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run(db_path, monkeypatch, "add", "a@example.com", "--role", "admin", stdin=Terminal()) == 1
    assert "the two passwords differ" in capsys.readouterr().err
    assert user(db_path, "a@example.com") is None
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert run(db_path, monkeypatch, "add", "a@example.com", "--role", "admin", stdin=Terminal()) == 0


def test_ctrl_d_at_the_prompt_is_one_line(db_path, monkeypatch, capsys):
    def end_of_input(prompt=""):
        raise EOFError
    monkeypatch.setattr("getpass.getpass", end_of_input)
    assert run(db_path, monkeypatch, "add", "a@example.com", "--role", "admin", stdin=Terminal()) == 1
    assert "ctvdb: error: no password was typed; nothing was changed" in capsys.readouterr().err
    assert user(db_path, "a@example.com") is None


def test_add_errors_are_one_line_and_exit_1(db_path, monkeypatch, capsys):
    assert run(db_path, monkeypatch, "add", "a@example.com", "--role", "viewer", "--password-stdin",
               stdin="short\n") == 1
    assert run(db_path, monkeypatch, "add", "b@example.com", "--role", "ae", "--password-stdin",
               stdin=PASSWORD) == 1
    err = capsys.readouterr().err
    assert "ctvdb: error: A password needs at least 10 characters." in err
    assert "needs the sales person" in err
    run(db_path, monkeypatch, "add", "a@example.com", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert run(db_path, monkeypatch, "add", "A@example.com", "--role", "viewer", "--password-stdin",
               stdin=PASSWORD) == 1
    assert "already exists" in capsys.readouterr().err


def test_list_shows_roles_status_and_last_sign_in_in_pacific_time(db_path, monkeypatch, capsys):
    run(db_path, monkeypatch, "add", "b@example.com", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    run(db_path, monkeypatch, "add", "a@example.com", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    conn = db.connect_auth(db_path)
    conn.execute("UPDATE users SET last_signin_at = '2026-07-01T19:30:00Z' WHERE email = 'a@example.com'")
    conn.close()
    run(db_path, monkeypatch, "disable", "b@example.com")
    capsys.readouterr()
    assert run(db_path, monkeypatch, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["EMAIL", "NAME", "ROLE", "AE", "STATUS", "LAST", "SIGN-IN"]
    assert lines[1].split() == ["a@example.com", "admin", "active", "2026-07-01", "12:30", "PDT"]
    assert lines[2].split() == ["b@example.com", "viewer", "disabled", "never"]


def test_passwd_changes_the_password_and_ends_sessions(db_path, monkeypatch, capsys):
    run(db_path, monkeypatch, "add", "a@example.com", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    conn = db.connect_auth(db_path)
    token = auth.start_session(conn, auth.get_user(conn, "a@example.com"), timedelta(hours=1))
    assert run(db_path, monkeypatch, "passwd", "a@example.com", "--password-stdin",
               stdin="the new password\n") == 0
    assert auth.session_user(conn, token) is None
    assert auth.authenticate(conn, "a@example.com", "the new password", "127.0.0.1") is not None
    conn.close()
    assert "their sessions have ended" in capsys.readouterr().out


def test_passwd_of_an_unknown_user_fails_before_asking(db_path, monkeypatch, capsys):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("asked for a password"))
    assert run(db_path, monkeypatch, "passwd", "nobody@example.com") == 1
    assert "there is no user 'nobody@example.com'" in capsys.readouterr().err


def test_disable_ends_sessions_at_once(db_path, monkeypatch):
    run(db_path, monkeypatch, "add", "a@example.com", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    conn = db.connect_auth(db_path)
    token = auth.start_session(conn, auth.get_user(conn, "a@example.com"), timedelta(hours=1))
    assert run(db_path, monkeypatch, "disable", "a@example.com") == 0
    assert auth.session_user(conn, token) is None
    assert not auth.get_user(conn, "a@example.com").active
    conn.close()
    assert run(db_path, monkeypatch, "disable", "nobody@example.com") == 1


def test_enable_lets_a_disabled_user_sign_in_again(db_path, monkeypatch, capsys):
    run(db_path, monkeypatch, "add", "a@example.com", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    run(db_path, monkeypatch, "disable", "a@example.com")
    conn = db.connect_auth(db_path)
    assert auth.authenticate(conn, "a@example.com", PASSWORD, "127.0.0.1") is None
    capsys.readouterr()
    assert run(db_path, monkeypatch, "enable", "a@example.com") == 0
    assert "Enabled a@example.com" in capsys.readouterr().out
    assert auth.authenticate(conn, "a@example.com", PASSWORD, "127.0.0.1").email == "a@example.com"
    conn.close()


def test_the_password_never_reaches_the_log(db_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    run(db_path, monkeypatch, "add", "a@example.com", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    run(db_path, monkeypatch, "passwd", "a@example.com", "--password-stdin", stdin="the new password")
    assert "a@example.com" in caplog.text
    assert PASSWORD not in caplog.text and "the new password" not in caplog.text


def test_add_with_no_terminal_says_to_use_password_stdin_in_one_line(db_path):
    import subprocess
    import sys

    for command in (["add", "a@example.com", "--role", "admin"], ["passwd", "b@example.com"]):
        if command[0] == "passwd":
            conn = db.connect_auth(db_path)
            auth.add_user(conn, "b@example.com", PASSWORD, "viewer")
            conn.close()
        # No terminal at all: stdin is /dev/null and the process has no controlling terminal.
        done = subprocess.run([sys.executable, "-m", "ctvdb", "--db", str(db_path), "users", *command],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                              start_new_session=True)
        assert done.returncode in (1, 2), done.stderr
        lines = done.stderr.strip().splitlines()
        assert lines[0] == f"ctvdb: database {db_path}"
        assert len(lines) == 2 and "Traceback" not in done.stderr, done.stderr
        assert lines[1].startswith("ctvdb: error: ") and "--password-stdin" in lines[1]
    assert user(db_path, "a@example.com") is None
