"""API tokens (issue 16): what lets a script or Excel's Power Query read `/api/v1/` without a
browser session.

Plain functions over a connection to the sign-in database (`db.connect_auth`), called by the
`ctvdb tokens` commands, the admin page and the API's door (`auth_web.api_principal`). A token is
shown once, when it is made; only its SHA-256 digest is stored (it is 32 random bytes, so a fast
digest is as safe as a slow one), and nothing ever logs it: the logs and the lists name it.
A token only reads: it acts with the rights of its scope (and of its AE, when it has one), it is
checked on every request with no cache in between, so a revoked or expired token stops at once.
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from ctvdb import auth

log = logging.getLogger(__name__)

SCOPES = ("reports", "planning", "accounts")
SCOPE_WORDS = {
    "reports": "the report pages' figures and the revenue sheet",
    "planning": "budgets, forecasts, booked and last year per AE and month",
    "accounts": "the accounts (issue 15)",
}
PREFIX = "ctvdb_"                    # so a token pasted somewhere it should not be is recognisable
DEFAULT_EXPIRES = "90d"
TOUCH_EVERY = timedelta(minutes=1)   # the last use is written at most once a minute, like a session's
_TOKEN_RE = re.compile(PREFIX + r"[A-Za-z0-9_-]{43}")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._'-]{0,59}")


class TokenError(auth.AuthError):
    """A token operation that cannot be done; the message is one sentence for a person."""


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    scope: str
    ae: str | None
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None
    last_used_from: str | None

    def status(self, now: datetime | None = None) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= auth.iso(now or auth.utcnow()):
            return "expired"
        return "active"


_COLUMNS = ("id, name, scope, ae, created_at, created_by, expires_at, revoked_at, last_used_at,"
            " last_used_from")


def _token(row) -> Token | None:
    return None if row is None else Token(*row)


def digest(token: str) -> str:
    return auth.token_digest(token)


def parse_expires(text: str | None, now: datetime | None = None) -> datetime | None:
    """'90d', '12w', '2027-06-30' (the end of that day, UTC) or 'never' -> when it expires."""
    now = now or auth.utcnow()
    text = (text if text is not None else DEFAULT_EXPIRES).strip().lower()
    if text == "never":
        return None
    m = re.fullmatch(r"(\d{1,4})([dw])", text)
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        if days < 1:
            raise TokenError("A token must last at least a day (say 90d, 12w, a date, or never).")
        return now + timedelta(days=days)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise TokenError(f"“{text[:30]}” is not a lifetime like 90d, 12w, 2027-06-30 or never.") from None
    end = datetime.combine(day, time(23, 59, 59), timezone.utc)
    if end <= now:
        raise TokenError(f"{day.isoformat()} has passed; a token must expire in the future.")
    return end


def add_token(conn: sqlite3.Connection, name: str, scope: str, *, ae: str | None = None,
              expires: datetime | None = None, by: str, now: datetime | None = None) -> tuple[Token, str]:
    """A new token: (its row, the token itself, which is shown once and never stored)."""
    name = " ".join((name or "").split())
    if not _NAME_RE.fullmatch(name):
        raise TokenError("A token's name is 1 to 60 letters, digits, spaces, dots, dashes, underscores or"
                         " apostrophes, starting with a letter or digit.")
    if scope not in SCOPES:
        raise TokenError(f"Scope {scope!r} is not one of {', '.join(SCOPES)}.")
    ae_key = auth.normalise_ae(ae) or None
    now = now or auth.utcnow()
    if expires is not None and expires <= now:
        raise TokenError("A token must expire in the future.")
    token = PREFIX + secrets.token_urlsafe(32)
    with auth.transaction(conn):
        if get_token(conn, name) is not None:
            raise TokenError(f"A token named {name!r} already exists; revoke it first or pick another name.")
        conn.execute(
            "INSERT INTO api_tokens (name, token_hash, scope, ae, created_at, created_by, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, digest(token), scope, ae_key, auth.iso(now), by, auth.iso(expires) if expires else None))
    log.info("API token %r added by %s: scope %s%s", name, by, scope, f", AE {ae_key}" if ae_key else "")
    return get_token(conn, name), token


def get_token(conn: sqlite3.Connection, name: str) -> Token | None:
    """The live (unrevoked) token of that name."""
    return _token(conn.execute(f"SELECT {_COLUMNS} FROM api_tokens WHERE name = ? AND revoked_at IS NULL",
                               (" ".join((name or "").split()),)).fetchone())


def list_tokens(conn: sqlite3.Connection) -> list[Token]:
    """Every token, live ones first, newest first."""
    return [_token(r) for r in conn.execute(
        f"SELECT {_COLUMNS} FROM api_tokens ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC")]


def revoke_token(conn: sqlite3.Connection, name: str, *, by: str, now: datetime | None = None) -> Token:
    """Revoke the live token of that name: its next request is refused (nothing caches a token)."""
    now = now or auth.utcnow()
    with auth.transaction(conn):
        token = get_token(conn, name)
        if token is None:
            raise TokenError(f"There is no live token named {' '.join((name or '').split())!r}.")
        conn.execute("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?", (auth.iso(now), by, token.id))
    log.info("API token %r revoked by %s", token.name, by)
    return _token(conn.execute(f"SELECT {_COLUMNS} FROM api_tokens WHERE id = ?", (token.id,)).fetchone())


def check(conn: sqlite3.Connection, presented: str | None, client_addr: str = "",
          now: datetime | None = None) -> Token | None:
    """The live, unexpired token `presented` is, or None (forged, revoked, expired, malformed).

    Read from the database on every request: a revocation counts from the next request on. The
    last use (and its address) is brought up to date at most once a minute; a busy sign-in
    database costs that record, never the request."""
    if not presented or not _TOKEN_RE.fullmatch(presented):
        return None
    now = now or auth.utcnow()
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > ?)", (digest(presented), auth.iso(now))).fetchone()
    token = _token(row)
    if token is None:
        return None
    if token.last_used_at is None or token.last_used_at < auth.iso(now - TOUCH_EVERY) \
            or token.last_used_from != client_addr:
        try:
            conn.execute("UPDATE api_tokens SET last_used_at = ?, last_used_from = ? WHERE id = ?",
                         (auth.iso(now), client_addr, token.id))
        except sqlite3.OperationalError as exc:
            log.warning("could not record the use of API token %r: %s", token.name, exc)
    return token
