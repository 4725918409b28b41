"""Users, passwords, sessions and sign-in limits (ctvdb/auth.py) against a real SQLite file."""

import logging
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ctvdb import auth, db

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

PASSWORD = "correct horse battery"
DAY = timedelta(hours=12)
PRODUCTION_METHOD = auth.PASSWORD_METHOD






@pytest.fixture
def conn(db_path):
    conn = db.connect_auth(db_path)
    yield conn
    conn.close()


def add_attempt(conn, email, client_addr, now, succeeded=False):
    conn.execute("INSERT INTO signin_attempts (email, client_addr, attempted_at, succeeded) VALUES (?, ?, ?, ?)",
                 (email, client_addr, auth.iso(now), int(succeeded)))


@pytest.fixture
def alice(conn):
    return auth.add_user(conn, "Alice@Example.com ", PASSWORD, "viewer", name="Alice Ng")


def database_bytes(path: Path) -> bytes:
    """The database as a copy of its files would hold it, write-ahead log included."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_production_passwords_use_werkzeugs_scrypt_at_full_cost(monkeypatch, conn):
    monkeypatch.setattr(auth, "PASSWORD_METHOD", PRODUCTION_METHOD)
    password_hash = auth.hash_password(conn, PASSWORD)
    assert password_hash.startswith("scrypt:32768:8:1$")
    assert auth.check_password(conn, password_hash, PASSWORD)


def test_a_user_is_stored_with_an_scrypt_hash_only(conn, alice):
    assert alice.email == "alice@example.com"
    assert alice.role == "viewer" and alice.active and alice.last_signin_at is None
    stored = conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_passwords_never_appear_in_clear_in_the_database_or_the_logs(db_path, conn, caplog):
    caplog.set_level(logging.DEBUG)
    auth.add_user(conn, "bob@example.com", PASSWORD, "admin")
    assert auth.authenticate(conn, "bob@example.com", PASSWORD, "10.0.0.1") is not None
    assert auth.authenticate(conn, "bob@example.com", "wrong password 1", "10.0.0.1") is None
    auth.set_password(conn, "bob@example.com", "second password 2")
    email, demo_password = auth.create_demo_admin(conn)
    token = auth.start_session(conn, auth.get_user(conn, email), DAY)
    stored = database_bytes(db_path)
    logged = caplog.text
    assert "bob@example.com" in logged  # the log does say who
    for secret in (PASSWORD, "wrong password 1", "second password 2", demo_password, token):
        assert secret.encode() not in stored
        assert secret not in logged


def test_a_password_typed_into_the_email_field_is_neither_logged_nor_stored(db_path, conn, caplog):
    caplog.set_level(logging.DEBUG)
    assert auth.authenticate(conn, PASSWORD, PASSWORD, "10.0.0.1") is None
    assert PASSWORD not in caplog.text and PASSWORD.encode() not in database_bytes(db_path)
    assert "not-an-email:" in caplog.text
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT - 1):
        auth.authenticate(conn, PASSWORD, "x", f"10.0.1.{_}")
    with pytest.raises(auth.RateLimited):  # still counted, under its digest
        auth.authenticate(conn, PASSWORD, "x", "10.0.2.1")


def test_emails_are_normalised_and_a_second_account_with_the_same_email_is_refused(conn, alice):
    assert auth.get_user(conn, "  ALICE@example.COM") == alice
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.add_user(conn, "alice@EXAMPLE.com", PASSWORD, "admin")
    with pytest.raises(auth.AuthError, match="not an email"):
        auth.add_user(conn, "alice", PASSWORD, "admin")


@pytest.mark.parametrize("role, ae, message", [
    ("ae", None, "needs the sales person"),
    ("viewer", "JANE", "Only a user with role ae"),
    ("owner", None, "is not one of"),
])
def test_roles_and_sales_person_links_are_checked(conn, role, ae, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.add_user(conn, "x@example.com", PASSWORD, role, ae=ae)


def test_an_ae_is_linked_to_the_sales_person_key_the_spots_use(conn):
    user = auth.add_user(conn, "jd@example.com", PASSWORD, "ae", ae="  jane   doe ")
    assert user.ae == "JANE DOE"


def test_a_short_password_is_refused(conn):
    with pytest.raises(auth.AuthError, match="at least 10"):
        auth.add_user(conn, "x@example.com", "short", "viewer")


def test_authenticate_accepts_only_the_right_password_of_an_active_account(conn, alice):
    assert auth.authenticate(conn, "alice@example.com", PASSWORD, "10.0.0.1") == alice
    assert auth.authenticate(conn, "alice@example.com", PASSWORD + "x", "10.0.0.1") is None
    assert auth.authenticate(conn, "nobody@example.com", PASSWORD, "10.0.0.1") is None
    assert auth.authenticate(conn, "", "", "10.0.0.1") is None
    auth.set_active(conn, "alice@example.com", False)
    assert auth.authenticate(conn, "alice@example.com", PASSWORD, "10.0.0.1") is None


def test_an_unknown_account_costs_a_password_check_too(conn, monkeypatch):
    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checked.append(1) or real(h, p))
    assert auth.authenticate(conn, "nobody@example.com", PASSWORD, "10.0.0.1") is None
    assert checked == [1]


def test_a_session_stores_only_the_tokens_digest_and_records_the_sign_in(conn, alice):
    token = auth.start_session(conn, alice, DAY, "10.0.0.1")
    assert auth.session_user(conn, token).id == alice.id
    (stored,) = conn.execute("SELECT token_hash FROM sessions").fetchone()
    assert stored == auth.token_digest(token) and token not in stored
    assert auth.get_user(conn, alice.email).last_signin_at is not None


def test_forged_tokens_find_no_session(conn, alice):
    token = auth.start_session(conn, alice, DAY)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for cookie in (forged, auth.token_digest(token), "", None, "x" * 43, token + "=", "' OR 1=1 --"):
        assert auth.session_user(conn, cookie) is None


def test_an_expired_session_finds_no_user(conn, alice):
    start = auth.utcnow() - timedelta(hours=13)
    token = auth.start_session(conn, alice, DAY, now=start)
    for hour in range(1, 12):    # in use every hour: the idle timeout never ends it
        assert auth.session_user(conn, token, now=start + timedelta(hours=hour)) is not None
    assert auth.session_user(conn, token) is None


def test_a_session_unused_for_the_idle_timeout_ends_however_long_it_had_left(conn, alice):
    start = auth.utcnow() - timedelta(hours=5)
    token = auth.start_session(conn, alice, DAY, now=start)
    idle = timedelta(hours=2)
    assert auth.session_user(conn, token, now=start + timedelta(minutes=119), idle=idle) is not None
    # used at 1:59, so it lives until 3:59 without another request, and no longer
    assert auth.session_user(conn, token, now=start + timedelta(minutes=238), idle=idle) is not None
    assert auth.session_user(conn, token, now=start + timedelta(minutes=238 + 121), idle=idle) is None


def test_a_session_s_use_is_written_at_most_once_a_minute(conn, alice):
    start = auth.utcnow() - timedelta(hours=1)
    token = auth.start_session(conn, alice, DAY, now=start)
    seen = lambda: conn.execute("SELECT last_seen_at FROM sessions").fetchone()[0]  # noqa: E731
    auth.session_user(conn, token, now=start + timedelta(seconds=59))
    assert seen() == auth.iso(start)
    auth.session_user(conn, token, now=start + timedelta(seconds=61))
    assert seen() == auth.iso(start + timedelta(seconds=61))


def test_sign_out_disable_and_new_password_revoke_sessions(conn, alice):
    token = auth.start_session(conn, alice, DAY)
    other = auth.start_session(conn, alice, DAY)
    auth.end_session(conn, token)
    assert auth.session_user(conn, token) is None
    assert auth.session_user(conn, other) is not None
    auth.set_password(conn, alice.email, "a whole new password")
    assert auth.session_user(conn, other) is None
    third = auth.start_session(conn, alice, DAY)
    auth.set_active(conn, alice.email, False)
    assert auth.session_user(conn, third) is None
    revoked = conn.execute("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL").fetchone()[0]
    assert revoked == 3
    auth.set_active(conn, alice.email, True)
    assert auth.session_user(conn, third) is None  # re-enabling does not bring old sessions back


def test_a_disabled_account_is_refused_even_with_a_live_session_row(conn, alice):
    token = auth.start_session(conn, alice, DAY)
    conn.execute("UPDATE users SET active = 0")
    assert auth.session_user(conn, token) is None


def test_failures_per_account_block_even_the_right_password(conn, alice, monkeypatch):
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert auth.authenticate(conn, alice.email, "wrong password", f"10.0.0.{_}") is None
    monkeypatch.setattr(auth, "check_password_hash", lambda *a: pytest.fail("checked while blocked"))
    with pytest.raises(auth.RateLimited):
        auth.authenticate(conn, alice.email, PASSWORD, "10.9.9.9")
    # the same holds for an account that does not exist: the limit does not reveal which exist
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        conn.execute("INSERT INTO signin_attempts (email, client_addr, attempted_at, succeeded)"
                     " VALUES ('ghost@example.com', '10.0.0.1', ?, 0)", (auth.iso(auth.utcnow()),))
    with pytest.raises(auth.RateLimited):
        auth.authenticate(conn, "ghost@example.com", PASSWORD, "10.9.9.8")


def test_guessing_from_elsewhere_does_not_lock_a_user_out_at_their_usual_address(conn, alice, monkeypatch):
    now = auth.utcnow()
    assert auth.authenticate(conn, alice.email, PASSWORD, "192.0.2.10", now - timedelta(days=2)) == alice
    for i in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert auth.authenticate(conn, alice.email, "wrong password", f"198.51.100.{i}", now) is None
    with pytest.raises(auth.RateLimited):      # a new address meets the account's limit
        auth.authenticate(conn, alice.email, PASSWORD, "203.0.113.99", now)
    assert auth.authenticate(conn, alice.email, PASSWORD, "192.0.2.10", now) == alice
    # A guesser at the known address still meets the limit for this account at this address.
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert auth.authenticate(conn, alice.email, "wrong password", "192.0.2.10", now) is None
    monkeypatch.setattr(auth, "check_password_hash", lambda *a: pytest.fail("checked while blocked"))
    with pytest.raises(auth.RateLimited):
        auth.authenticate(conn, alice.email, PASSWORD, "192.0.2.10", now)
    # An address known a week and more ago is no longer known.
    later = now + auth.KEEP_ATTEMPTS
    for i in range(auth.MAX_FAILURES_PER_ACCOUNT):
        add_attempt(conn, alice.email, f"198.51.100.{i}", later)
    with pytest.raises(auth.RateLimited):
        auth.authenticate(conn, alice.email, PASSWORD, "192.0.2.10", later)


def test_failures_per_address_block_every_account_from_it(conn, alice):
    now = auth.utcnow()
    for i in range(auth.MAX_FAILURES_PER_ADDRESS):
        add_attempt(conn, f"guess{i}@example.com", "203.0.113.7", now)
    with pytest.raises(auth.RateLimited):
        auth.authenticate(conn, alice.email, PASSWORD, "203.0.113.7", now)
    assert auth.authenticate(conn, alice.email, PASSWORD, "203.0.113.8", now) == alice
    later = now + auth.FAILURE_WINDOW + timedelta(seconds=1)
    assert auth.authenticate(conn, alice.email, PASSWORD, "203.0.113.7", later) == alice


def test_old_attempts_are_purged(conn):
    now = auth.utcnow()
    add_attempt(conn, "a@example.com", "10.0.0.1", now - timedelta(days=30))
    assert auth.count_attempt(conn, "a@example.com", "10.0.0.1", now) is not None
    assert [tuple(row) for row in conn.execute("SELECT attempted_at FROM signin_attempts")] == [(auth.iso(now),)]


def test_at_most_two_password_checks_run_at_once(db_path, conn, alice, monkeypatch):
    running, peak, lock = 0, 0, threading.Lock()

    def slow_check(password_hash, password):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(auth, "check_password_hash", slow_check)
    results = []

    def sign_in(i):
        c = db.connect_auth(db_path)
        try:
            results.append(auth.authenticate(c, f"user{i}@example.com", "wrong password", f"10.1.0.{i}"))
        finally:
            c.close()

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [None] * 10
    assert peak == auth.MAX_CONCURRENT_CHECKS == 2


def test_a_check_that_cannot_start_in_time_says_busy(monkeypatch, db_path, conn, alice):
    """Every slot held, here by another process as a second uvicorn worker would."""
    import fcntl

    monkeypatch.setattr(auth, "CHECK_WAIT_SECONDS", 0.05)
    slots = [f"{db.auth_path(db_path)}.check-{n}" for n in range(auth.MAX_CONCURRENT_CHECKS)]
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               "held = [open(p, 'a+') for p in sys.argv[1:]]\n"
                               "[fcntl.flock(h, fcntl.LOCK_EX) for h in held]\n"
                               "print('held', flush=True); time.sleep(30)", *slots],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(auth.Busy):
            auth.check_password(conn, "scrypt:whatever", PASSWORD)
    finally:
        holder.kill()
        holder.wait()
    with open(slots[0], "a+") as slot:   # the kernel freed the dead holder's slots
        fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_demo_admin_gets_a_fresh_password_each_time(conn):
    email, first = auth.create_demo_admin(conn)
    assert auth.authenticate(conn, email, first, "127.0.0.1").role == "admin"
    again, second = auth.create_demo_admin(conn)
    assert again == email and second != first and len(second) >= auth.MIN_PASSWORD_LENGTH
    assert auth.authenticate(conn, email, first, "127.0.0.1") is None
    assert auth.authenticate(conn, email, second, "127.0.0.1") is not None


def test_csrf_tokens_are_bound_and_compared_safely(conn):
    a, b = auth.session_csrf_token("token-a"), auth.session_csrf_token("token-b")
    assert a != b and auth.csrf_matches(a, a)
    for given in (None, "", b, a.upper(), "é" * 64):
        assert not auth.csrf_matches(a, given)
    secret = auth.csrf_secret(conn)
    assert len(secret) == 32
    assert auth.signed_csrf_token(secret, "n1") != auth.signed_csrf_token(secret, "n2")


def test_each_database_gets_its_own_signing_secret(tmp_path):
    secrets = []
    for name in ("one.db", "two.db"):
        db.init(tmp_path / name)
        conn = db.connect_auth(tmp_path / name)
        secrets.append(auth.csrf_secret(conn))
        conn.close()
    assert secrets[0] != secrets[1]


def test_the_migration_builds_the_same_sign_in_database_as_a_new_one(tmp_path, conn):
    old = tmp_path / "old.db"
    raw = sqlite3.connect(old)
    raw.executescript((Path(__file__).parent / "fixtures" / "schema_v1.sql").read_text() + "\nPRAGMA user_version = 1;")
    raw.close()
    db.init(old)
    migrated = db.connect_auth(old)
    query = "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
    normal = lambda rows: [(n, " ".join((s or "").split())) for n, s in rows]  # noqa: E731
    assert normal(migrated.execute(query).fetchall()) == normal(conn.execute(query).fetchall())
    assert len(auth.csrf_secret(migrated)) == 32
    migrated.close()
    main = sqlite3.connect(old)
    assert main.execute("SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'sessions')").fetchone() == (0,)
    main.close()


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(db_path, alice, monkeypatch):
    """60 guesses for one account sent at once (from 60 addresses): each is counted before its
    password is checked, in one step with the check of the limit, so only the first 5 are checked."""
    checks, lock = [], threading.Lock()

    def slow_check(password_hash, password):
        with lock:
            checks.append(password)
        time.sleep(0.02)
        return False

    monkeypatch.setattr(auth, "check_password_hash", slow_check)
    start, outcomes = threading.Barrier(60), []

    def guess(i):
        c = db.connect_auth(db_path)
        try:
            start.wait()
            try:
                outcomes.append(auth.authenticate(c, alice.email, f"guess {i}", f"198.51.100.{i}"))
            except auth.RateLimited:
                outcomes.append("limited")
        finally:
            c.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checks) == auth.MAX_FAILURES_PER_ACCOUNT == 5
    assert outcomes.count(None) == 5 and outcomes.count("limited") == 55
    conn = db.connect_auth(db_path)
    assert tuple(conn.execute("SELECT count(*), sum(succeeded) FROM signin_attempts").fetchone()) == (5, 0)
    conn.close()


def test_at_most_two_password_checks_run_at_once_across_processes(db_path, alice, tmp_path, monkeypatch):
    """Three processes (as uvicorn workers are) of four threads each: the slots are the same
    lock files for all, so no more than two checks ever overlap."""
    import multiprocessing

    record = tmp_path / "checks.log"

    def slow_check(password_hash, password):
        began = time.monotonic()
        time.sleep(0.03)
        with open(record, "a") as log:
            log.write(f"{began} {time.monotonic()}\n")
        return False

    monkeypatch.setattr(auth, "check_password_hash", slow_check)

    def worker():
        def check():
            c = db.connect_auth(db_path)
            try:
                auth.check_password(c, "scrypt:whatever", PASSWORD)
            finally:
                c.close()
        threads = [threading.Thread(target=check) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    context = multiprocessing.get_context("fork")   # the children keep the slow check
    processes = [context.Process(target=worker) for _ in range(3)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    spans = [tuple(map(float, line.split())) for line in record.read_text().splitlines()]
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert len(spans) == 12 and peak == auth.MAX_CONCURRENT_CHECKS == 2
