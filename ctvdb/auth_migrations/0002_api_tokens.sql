-- Sign-in database version 2 (issue 16): API tokens for /api/v1/, read-only, one scope each.
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
