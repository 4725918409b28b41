-- v4: who may see the figures (issue 5). Users with a role, server-side sessions of which only
-- the token's SHA-256 is stored, sign-in attempts for rate limiting (shared by every uvicorn
-- worker), and the server's signing secret for the sign-in form's CSRF token.
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
    token_hash  TEXT PRIMARY KEY,              -- hex SHA-256 of the cookie's token
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,                 -- ISO UTC
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,                          -- set on sign-out, disable, password change
    client_addr TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE signin_attempts (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,                -- as typed (lower-cased), whether or not it exists
    client_addr  TEXT NOT NULL,
    attempted_at TEXT NOT NULL,                -- ISO UTC
    succeeded    INTEGER NOT NULL
);
CREATE INDEX signin_attempts_email ON signin_attempts (email, attempted_at);
CREATE INDEX signin_attempts_addr ON signin_attempts (client_addr, attempted_at);

CREATE TABLE auth_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO auth_secrets (name, value) VALUES ('csrf', lower(hex(randomblob(32))));
