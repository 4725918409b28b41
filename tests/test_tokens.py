"""API tokens (ctvdb/tokens.py) and `ctvdb tokens`: made once and shown once, stored only as a
digest, listed, revoked at once, expired on time; the sign-in database's migration that adds them."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest

from ctvdb import auth, db, tokens


def ctvdb(*args, stdin: str = ""):
    return subprocess.run([sys.executable, "-m", "ctvdb", *map(str, args)], capture_output=True, text=True,
                          input=stdin, timeout=60)


@pytest.fixture
def auth_db(tmp_db):
    conn = db.connect_auth(tmp_db)
    yield conn
    conn.close()


def test_a_token_is_shown_once_and_only_its_digest_is_stored(auth_db, tmp_db):
    token, secret = tokens.add_token(auth_db, "management workbook", "reports", by="ana@example.com")
    assert secret.startswith("ctvdb_") and len(secret) == 6 + 43
    assert (token.name, token.scope, token.ae, token.created_by) == ("management workbook", "reports", None,
                                                                      "ana@example.com")
    stored = auth_db.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    for path in (tmp_db, db.auth_path(tmp_db)):   # nowhere in either file, in any form but the digest
        auth_db.execute("PRAGMA wal_checkpoint(FULL)")
        for suffix in ("", "-wal"):
            data = path.with_name(path.name + suffix).read_bytes() if path.with_name(path.name + suffix).exists() else b""
            assert secret.encode() not in data and secret[6:].encode() not in data


def test_check_takes_only_a_live_token(auth_db):
    now = auth.utcnow()
    token, secret = tokens.add_token(auth_db, "script", "planning", ae=" jane  doe ", expires=now + timedelta(days=1),
                                     by="ana@example.com", now=now)
    assert token.ae == "JANE DOE"
    assert tokens.check(auth_db, secret, "192.0.2.1", now=now).name == "script"
    for forged in (None, "", secret[:-1], secret + "x", secret[:-1] + ("A" if secret[-1] != "A" else "B"),
                   secret[6:], "Bearer " + secret):
        assert tokens.check(auth_db, forged, now=now) is None, forged
    assert tokens.check(auth_db, secret, now=now + timedelta(days=1, seconds=1)) is None   # expired
    tokens.revoke_token(auth_db, "script", by="ana@example.com", now=now)
    assert tokens.check(auth_db, secret, now=now) is None                                   # revoked at once


def test_the_last_use_and_its_address_are_recorded_at_most_once_a_minute(auth_db):
    now = auth.utcnow()
    _, secret = tokens.add_token(auth_db, "script", "reports", by="ana@example.com", now=now)
    tokens.check(auth_db, secret, "192.0.2.1", now=now)
    tokens.check(auth_db, secret, "192.0.2.1", now=now + timedelta(seconds=30))
    (used,) = tokens.list_tokens(auth_db)
    assert (used.last_used_at, used.last_used_from) == (auth.iso(now), "192.0.2.1")
    tokens.check(auth_db, secret, "192.0.2.9", now=now + timedelta(seconds=40))   # another address: recorded
    tokens.check(auth_db, secret, "192.0.2.9", now=now + timedelta(minutes=2))
    (used,) = tokens.list_tokens(auth_db)
    assert (used.last_used_at, used.last_used_from) == (auth.iso(now + timedelta(minutes=2)), "192.0.2.9")


def test_bad_names_scopes_and_lifetimes_are_refused_with_a_sentence(auth_db):
    now = auth.utcnow()
    with pytest.raises(tokens.TokenError, match="name is 1 to 60"):
        tokens.add_token(auth_db, "", "reports", by="x")
    with pytest.raises(tokens.TokenError, match="not one of reports, planning, accounts"):
        tokens.add_token(auth_db, "a", "admin", by="x")
    tokens.add_token(auth_db, "a", "reports", by="x")
    with pytest.raises(tokens.TokenError, match="already exists"):
        tokens.add_token(auth_db, "a", "planning", by="x")
    assert tokens.parse_expires("90d", now) == now + timedelta(days=90)
    assert tokens.parse_expires("2w", now) == now + timedelta(days=14)
    assert tokens.parse_expires("never", now) is None
    assert auth.iso(tokens.parse_expires("2099-06-30", now)) == "2099-06-30T23:59:59Z"
    for bad in ("0d", "soon", "2000-01-01"):
        with pytest.raises(tokens.TokenError):
            tokens.parse_expires(bad, now)


def test_a_revoked_token_s_name_may_be_used_again_and_both_stay_listed(auth_db):
    tokens.add_token(auth_db, "workbook", "reports", by="x")
    tokens.revoke_token(auth_db, "workbook", by="y")
    with pytest.raises(tokens.TokenError, match="no live token"):
        tokens.revoke_token(auth_db, "workbook", by="y")
    tokens.add_token(auth_db, "workbook", "accounts", by="x")   # issue 15's scope is accepted now
    listed = tokens.list_tokens(auth_db)
    assert [(t.name, t.scope, t.status()) for t in listed] == [("workbook", "accounts", "active"),
                                                                ("workbook", "reports", "revoked")]


def test_the_commands_add_list_and_revoke(tmp_db):
    added = ctvdb("--db", tmp_db, "tokens", "add", "jane's sheet", "--scope", "reports", "--ae", "Jane Doe",
                  "--expires", "30d", "--by", "ana@example.com")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert secret.startswith("ctvdb_") and "\n" not in secret       # stdout is the token alone
    assert "shown this once" in added.stderr and secret not in added.stderr
    conn = db.connect_auth(tmp_db)
    assert tokens.check(conn, secret).ae == "JANE DOE"
    conn.close()
    listed = ctvdb("--db", tmp_db, "tokens", "list")
    assert listed.returncode == 0
    header, row = listed.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "SCOPE", "AE", "STATUS"]
    assert "jane's sheet" in row and "reports" in row and "JANE DOE" in row and "active" in row and "never" not in row
    assert secret not in listed.stdout + listed.stderr
    revoked = ctvdb("--db", tmp_db, "tokens", "revoke", "jane's sheet")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout.lower()
    assert "revoked" in ctvdb("--db", tmp_db, "tokens", "list").stdout
    again = ctvdb("--db", tmp_db, "tokens", "revoke", "jane's sheet")
    assert again.returncode == 1 and again.stderr.strip().endswith("There is no live token named \"jane's sheet\".")
    bad = ctvdb("--db", tmp_db, "tokens", "add", "x", "--scope", "reports", "--expires", "tomorrow")
    assert bad.returncode == 1 and "is not a lifetime" in bad.stderr


def test_migrate_adds_the_tokens_table_to_a_version_1_sign_in_database(tmp_db):
    """An auth database from before issue 16, as auth_schema.sql made it then: `ctvdb migrate`
    brings it to version 2, keeps its users, and ends equal to a fresh one."""
    auth_path = db.auth_path(tmp_db)
    conn = sqlite3.connect(auth_path)
    conn.executescript("DROP INDEX api_tokens_live_name; DROP TABLE api_tokens; PRAGMA user_version = 1;")
    conn.execute("INSERT INTO users (email, role, password_hash) VALUES ('ana@example.com', 'admin', 'scrypt:x')")
    conn.commit()
    conn.close()
    assert db.auth_version(tmp_db) == 1
    done = ctvdb("--db", tmp_db, "migrate")
    assert done.returncode == 0, done.stderr
    assert db.auth_version(tmp_db) == db.AUTH_SCHEMA_VERSION == 2

    def objects(path):
        c = sqlite3.connect(path)
        try:
            return sorted(c.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
        finally:
            c.close()
    fresh = db.init_auth(tmp_db.parent / "fresh.db")
    assert objects(auth_path) == objects(fresh)
    conn = db.connect_auth(tmp_db)
    assert auth.get_user(conn, "ana@example.com") is not None
    conn.close()


def test_the_web_app_will_not_start_on_an_old_sign_in_database(tmp_db):
    from ctvdb.config import Config
    from ctvdb.web.app import StartupError, create_app

    conn = sqlite3.connect(db.auth_path(tmp_db))
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(StartupError, match="is at version 1, this ctvdb needs 2: run `ctvdb migrate`"):
        create_app(Config(database_path=tmp_db))
