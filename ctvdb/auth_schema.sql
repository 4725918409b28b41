-- The sign-in database: a SQLite file of its own beside the main one (`db.auth_path`), so that
-- signing in, sessions and sign-in limits never wait on an import's write transaction, which
-- holds the main database's write lock for seconds (16 s for 200,000 rows). Created by
-- `ctvdb init`, or by migration 0007 from the tables the main database held until then.
-- Only scrypt hashes of passwords and SHA-256 digests of session and API tokens are stored;
-- sign-in attempts live here so every uvicorn worker counts the same failures. Later changes
-- arrive as auth_migrations/NNNN_name.sql and are folded in here too (db.init_auth).

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,       -- trimmed, lower-cased
    name           TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL CHECK (role IN ('admin', 'management', 'ae', 'viewer')),
    ae             TEXT,                       -- role ae only: the spots.ae key it may see
    password_hash  TEXT NOT NULL,              -- werkzeug scrypt; never the password
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_signin_at TEXT,
    CHECK ((role = 'ae') = (ae IS NOT NULL AND ae <> ''))
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,             -- hex SHA-256 of the cookie's token
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,                -- ISO UTC
    expires_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,                -- the last request, to the minute: the idle timeout
    revoked_at   TEXT,                         -- set on sign-out, disable, password change
    client_addr  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE signin_attempts (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,                -- as typed (lower-cased), whether or not it exists
    client_addr  TEXT NOT NULL,
    attempted_at TEXT NOT NULL,                -- ISO UTC
    succeeded    INTEGER NOT NULL              -- 0 from the moment it is counted until it succeeds
);
CREATE INDEX signin_attempts_email ON signin_attempts (email, attempted_at);
CREATE INDEX signin_attempts_addr ON signin_attempts (client_addr, attempted_at);

CREATE TABLE auth_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO auth_secrets (name, value) VALUES ('csrf', lower(hex(randomblob(32))));

-- v2 (issue 16): API tokens for /api/v1/, read-only, one scope each (ctvdb/tokens.py).
CREATE TABLE api_tokens (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,               -- what the logs and the lists call it; never the token
    token_hash     TEXT NOT NULL UNIQUE,        -- hex SHA-256 of the token; the token itself is never stored
    scope          TEXT NOT NULL CHECK (scope IN ('reports', 'planning', 'accounts')),
    ae             TEXT,                        -- set: the token sees what that AE (a spots.ae key) sees
    created_at     TEXT NOT NULL,               -- ISO UTC
    created_by     TEXT NOT NULL,               -- the admin's email, or the command's user
    expires_at     TEXT,                        -- NULL: never
    revoked_at     TEXT,
    revoked_by     TEXT,
    last_used_at   TEXT,                        -- to the minute, like a session's last use
    last_used_from TEXT                         -- the client address of that use
);
-- A name is one live token's: a revoked token keeps its row (and its name) for the list.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
