"""Users, passwords, server-side sessions and sign-in rate limits (issue 5).

Plain functions over a sqlite3 connection: the `ctvdb users` commands call them directly and
auth_web.py turns them into pages and cookies. Only scrypt hashes of passwords and SHA-256
digests of session tokens reach the database; neither a password nor a token is ever logged.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from werkzeug.security import check_password_hash, generate_password_hash

from ctvdb import db

log = logging.getLogger(__name__)

ROLES = ("admin", "management", "ae", "viewer")
MIN_PASSWORD_LENGTH = 10
PASSWORD_METHOD = "scrypt"  # werkzeug's scrypt: n=2**15, r=8, p=1 (tests use a cheaper n)
DEMO_ADMIN_EMAIL = "demo.admin@example.com"

# One scrypt check holds 32 MiB for ~50 ms; two at a time on the whole server (every uvicorn
# worker and command counts: the slots are lock files beside the sign-in database) keep a
# burst of sign-ins from eating the memory of a small server. A check that cannot start
# within the wait gives "busy".
MAX_CONCURRENT_CHECKS = 2
CHECK_WAIT_SECONDS = 10.0
# A session unused this long ends (config.session_idle_minutes overrides it); its last use is
# written at most once a minute, so a page view is not a write every time.
SESSION_IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)

# Failed sign-ins counted over a sliding window, per typed email and per client address.
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
KEEP_ATTEMPTS = timedelta(days=7)

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


class AuthError(Exception):
    """A user operation that cannot be done; the message is one sentence for a person."""


class Busy(AuthError):
    """Too many password checks are running; the caller should answer 503."""


class RateLimited(AuthError):
    """Too many failed sign-ins for this account or address; the caller should answer 429."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    ae: str | None
    active: bool
    created_at: str
    last_signin_at: str | None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def transaction(conn: sqlite3.Connection):
    """One write to the sign-in database (no import ever holds it: only other sign-ins do)."""
    return db.write_transaction(conn, wait=db.BUSY_TIMEOUT_MS / 1000)


# Passwords ------------------------------------------------------------------------------------


@contextmanager
def _scrypt_slot(conn: sqlite3.Connection):
    """One of MAX_CONCURRENT_CHECKS slots: an exclusive lock on a file beside the sign-in
    database. flock conflicts between open files, not processes, so the slots hold across
    threads and uvicorn workers alike; the kernel frees a slot whose holder dies."""
    base = db.main_file(conn)
    deadline = time.monotonic() + CHECK_WAIT_SECONDS
    while True:
        for number in range(MAX_CONCURRENT_CHECKS):
            # Read-only and world-readable: a slot file made by `sudo ctvdb users add` (root)
            # still opens for the service's user. It holds nothing; only its lock counts.
            handle = os.open(f"{base}.check-{number}", os.O_RDONLY | os.O_CREAT, 0o644)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            try:
                yield
            finally:
                os.close(handle)
            return
        if time.monotonic() > deadline:
            raise Busy("The server is busy checking other sign-ins; try again in a moment.")
        time.sleep(0.01)


def hash_password(conn: sqlite3.Connection, password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    with _scrypt_slot(conn):
        return generate_password_hash(password, method=PASSWORD_METHOD)


def check_password(conn: sqlite3.Connection, password_hash: str, password: str) -> bool:
    with _scrypt_slot(conn):
        return check_password_hash(password_hash, password)


_dummy_hash: str | None = None


def _dummy_password_hash(conn: sqlite3.Connection) -> str:
    """A hash to check against when the account does not exist, so that takes as long."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(conn, secrets.token_urlsafe(16))
    return _dummy_hash


def generate_password() -> str:
    return secrets.token_urlsafe(12)


# Users ----------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not _EMAIL_RE.fullmatch(email):
        raise AuthError(f"{email[:60]!r} is not an email address.")
    return email


def normalise_ae(name: str | None) -> str:
    """The AE key the spots table uses: trimmed and upper-cased (DOMAIN.md §4)."""
    return " ".join((name or "").split()).upper()


def _user(row: sqlite3.Row | None) -> User | None:
    if row is None:
        return None
    return User(row["id"], row["email"], row["name"], row["role"], row["ae"], bool(row["active"]),
                row["created_at"], row["last_signin_at"])


_USER_COLUMNS = "id, email, name, role, ae, active, created_at, last_signin_at"


def get_user(conn: sqlite3.Connection, email: str) -> User | None:
    try:
        email = normalise_email(email)
    except AuthError:
        return None
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE email = ?", (email,)).fetchone()
    return _user(row)


def require_user(conn: sqlite3.Connection, email: str) -> User:
    user = get_user(conn, email)
    if user is None:
        raise AuthError(f"There is no user {email.strip()!r}.")
    return user


def list_users(conn: sqlite3.Connection) -> list[User]:
    rows = conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY active DESC, email")
    return [_user(row) for row in rows]


def add_user(conn: sqlite3.Connection, email: str, password: str, role: str, *,
             name: str = "", ae: str | None = None) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise AuthError(f"Role {role!r} is not one of {', '.join(ROLES)}.")
    ae_key = normalise_ae(ae) or None
    if role == "ae" and not ae_key:
        raise AuthError("A user with role ae needs the sales person it may see (--ae NAME).")
    if role != "ae" and ae_key:
        raise AuthError("Only a user with role ae is linked to a sales person.")
    if get_user(conn, email) is not None:
        raise AuthError(f"A user {email!r} already exists.")
    password_hash = hash_password(conn, password)
    conn.execute(
        "INSERT INTO users (email, name, role, ae, password_hash) VALUES (?, ?, ?, ?, ?)",
        (email, " ".join(name.split()), role, ae_key, password_hash),
    )
    log.info("user %s added with role %s", email, role)
    return get_user(conn, email)


def set_password(conn: sqlite3.Connection, email: str, password: str, now: datetime | None = None) -> User:
    """A new password; every session of the user ends (whoever held the old one is out)."""
    user = require_user(conn, email)
    password_hash = hash_password(conn, password)
    with transaction(conn):
        conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user.id))
        revoke_user_sessions(conn, user.id, now)
    log.info("password of user %s changed", user.email)
    return user


def set_active(conn: sqlite3.Connection, email: str, active: bool, now: datetime | None = None) -> User:
    """Disable (ending every session of the user at once) or re-enable an account."""
    user = require_user(conn, email)
    with transaction(conn):
        conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user.id))
        if not active:
            revoke_user_sessions(conn, user.id, now)
    log.info("user %s %s", user.email, "enabled" if active else "disabled")
    return require_user(conn, email)


def create_demo_admin(conn: sqlite3.Connection) -> tuple[str, str]:
    """An active admin for `ctvdb demo` with a fresh random password: (email, password)."""
    password = generate_password()
    if get_user(conn, DEMO_ADMIN_EMAIL) is None:
        add_user(conn, DEMO_ADMIN_EMAIL, password, "admin", name="Demo Admin")
    else:
        set_password(conn, DEMO_ADMIN_EMAIL, password)
        set_active(conn, DEMO_ADMIN_EMAIL, True)
    return DEMO_ADMIN_EMAIL, password


# Sessions -------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(conn: sqlite3.Connection, user: User, lifetime: timedelta, client_addr: str = "",
                  now: datetime | None = None) -> str:
    """A new session for a signed-in user; returns the token for the cookie (stored only hashed)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with transaction(conn):
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, client_addr)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_digest(token), user.id, iso(now), iso(now + lifetime), iso(now), client_addr),
        )
        conn.execute("UPDATE users SET last_signin_at = ? WHERE id = ?", (iso(now), user.id))
        # Sessions that ended more than a day ago are of no further use.
        conn.execute("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?",
                     (iso(now - timedelta(days=1)), iso(now - timedelta(days=1))))
    return token


def session_user(conn: sqlite3.Connection, token: str | None, now: datetime | None = None,
                 idle: timedelta = SESSION_IDLE) -> User | None:
    """The active user a session token belongs to, or None if forged, expired, revoked or unused
    for longer than `idle`. A session in use has its last use brought up to date (at most once
    a minute; a write to the sign-in database, which no import ever holds)."""
    if not token or not _TOKEN_RE.fullmatch(token):
        return None
    now = now or utcnow()
    row = conn.execute(
        f"SELECT {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))}, s.last_seen_at"
        " FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND s.last_seen_at > ?"
        " AND u.active = 1",
        (token_digest(token), iso(now), iso(now - idle)),
    ).fetchone()
    if row is None:
        return None
    if row["last_seen_at"] < iso(now - TOUCH_EVERY):
        try:
            conn.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (iso(now), token_digest(token)))
        except sqlite3.OperationalError as exc:  # a busy sign-in database costs the touch, not the page
            log.warning("could not record a session's use: %s", exc)
    return _user(row)


def end_session(conn: sqlite3.Connection, token: str | None, now: datetime | None = None) -> None:
    if token:
        conn.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                     (iso(now or utcnow()), token_digest(token)))


def revoke_user_sessions(conn: sqlite3.Connection, user_id: int, now: datetime | None = None) -> None:
    conn.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                 (iso(now or utcnow()), user_id))


# Sign-in ----------------------------------------------------------------------------------------


def signin_blocked(conn: sqlite3.Connection, email: str, client_addr: str, now: datetime | None = None) -> bool:
    """Too many recent failures: from this address (any account), for this account from this
    address, or for this account from anywhere. The last does not apply at an address the
    account signed in from within KEEP_ATTEMPTS, so guessing from elsewhere cannot lock a user
    out at their usual desk; a guesser at that address still meets the first two limits.
    An attempt whose password is still being checked counts as a failure."""
    now = now or utcnow()
    since = iso(now - FAILURE_WINDOW)

    def failures(where: str, *args) -> int:
        return conn.execute(f"SELECT count(*) FROM signin_attempts WHERE {where} AND attempted_at > ?"
                            " AND succeeded = 0", (*args, since)).fetchone()[0]

    if failures("client_addr = ?", client_addr) >= MAX_FAILURES_PER_ADDRESS:
        return True
    if failures("email = ? AND client_addr = ?", email, client_addr) >= MAX_FAILURES_PER_ACCOUNT:
        return True
    known_address = conn.execute(
        "SELECT 1 FROM signin_attempts WHERE email = ? AND client_addr = ? AND succeeded = 1"
        " AND attempted_at > ? LIMIT 1", (email, client_addr, iso(now - KEEP_ATTEMPTS))).fetchone()
    return not known_address and failures("email = ?", email) >= MAX_FAILURES_PER_ACCOUNT


def count_attempt(conn: sqlite3.Connection, email: str, client_addr: str, now: datetime | None = None) -> int | None:
    """Check the limits and count this attempt, as one step: in one write transaction, so of
    60 guesses sent at once only as many as the limit allows get a password check. Returns the
    attempt's id (a failure until `attempt_succeeded`), or None when the limits refuse it."""
    now = now or utcnow()
    with transaction(conn):
        if signin_blocked(conn, email, client_addr, now):
            return None
        attempt = conn.execute(
            "INSERT INTO signin_attempts (email, client_addr, attempted_at, succeeded) VALUES (?, ?, ?, 0)",
            (email, client_addr, iso(now))).lastrowid
        conn.execute("DELETE FROM signin_attempts WHERE attempted_at < ?", (iso(now - KEEP_ATTEMPTS),))
    return attempt


def attempt_succeeded(conn: sqlite3.Connection, attempt: int) -> None:
    conn.execute("UPDATE signin_attempts SET succeeded = 1 WHERE id = ?", (attempt,))


def attempt_key(email: str | None) -> str:
    """What a sign-in attempt is counted and logged under: the email, or, when what was typed is
    not an email (a password typed into the wrong field), only a digest of it."""
    try:
        return normalise_email(email or "")
    except AuthError:
        return "not-an-email:" + hashlib.sha256((email or "").encode("utf-8")).hexdigest()[:16]


def authenticate(conn: sqlite3.Connection, email: str, password: str, client_addr: str,
                 now: datetime | None = None) -> User | None:
    """The user if the email and password are right and the account is active, else None.

    Raises RateLimited (before any password check) after too many recent failures for the typed
    email or the address, and Busy when no password check could start. The attempt is counted
    before its password is checked. An unknown email costs a check too, so the time taken does
    not tell whether the account exists.
    """
    typed = attempt_key(email)
    attempt = count_attempt(conn, typed, client_addr, now)
    if attempt is None:
        log.warning("sign-in refused for %r from %s: too many failures", typed, client_addr)
        raise RateLimited("Too many failed sign-ins; wait 15 minutes and try again.")
    user = get_user(conn, typed)
    if user is not None:
        stored = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user.id,)).fetchone()[0]
        ok = check_password(conn, stored, password or "") and user.active
    else:
        check_password(conn, _dummy_password_hash(conn), password or "")
        ok = False
    if not ok:
        log.warning("sign-in failed for %r from %s", typed, client_addr)
        return None
    attempt_succeeded(conn, attempt)
    log.info("user %s signed in from %s", user.email, client_addr)
    return user


# CSRF tokens ----------------------------------------------------------------------------------


def csrf_secret(conn: sqlite3.Connection) -> bytes:
    return bytes.fromhex(conn.execute("SELECT value FROM auth_secrets WHERE name = 'csrf'").fetchone()[0])


def session_csrf_token(session_token: str) -> str:
    """The token a signed-in user's forms carry: only the holder of the session cookie has it."""
    return hmac.new(session_token.encode("utf-8"), b"csrf", hashlib.sha256).hexdigest()


def signed_csrf_token(secret: bytes, binding: str) -> str:
    """A token signed with the server's secret, bound to a form nonce cookie or an SSO user."""
    return hmac.new(secret, binding.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
