-- Identity, access and audit: users, console sessions, sign-in tickets for
-- the MFA step, personal access tokens, MFA recovery codes, and the
-- append-only, hash-chained audit trail. Times are Unix microseconds (UTC);
-- 0 means "never". Secrets are stored only as hashes, or sealed.

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,     -- lower-case
    name                 TEXT NOT NULL DEFAULT '',
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
    status               TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    permissions          TEXT NOT NULL DEFAULT '', -- granted beyond the role, comma-separated
    password_hash        TEXT NOT NULL,            -- argon2id, PHC string
    must_change_password INTEGER NOT NULL DEFAULT 0,
    password_expires_at  INTEGER NOT NULL DEFAULT 0, -- temporary passwords only
    password_changed_at  INTEGER NOT NULL,
    mfa_enabled          INTEGER NOT NULL DEFAULT 0,
    totp_secret          BLOB,                     -- sealed
    totp_pending         BLOB,                     -- sealed; during enrolment
    totp_last_step       INTEGER NOT NULL DEFAULT 0, -- a used step is never accepted again
    last_login_at        INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,             -- SHA-256 of the cookie's secret
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_ip    TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_tickets (
    token_hash BLOB PRIMARY KEY,                   -- SHA-256 of the ticket
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
);
CREATE INDEX login_tickets_user ON login_tickets (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,             -- SHA-256 of the token
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,                       -- keyed hash of the code
    used_at   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,                -- 1, 2, 3, ... without gaps
    at         INTEGER NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    client_ip  TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    result     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',           -- JSON object of strings, or empty
    prev_hash  TEXT NOT NULL,                      -- hash of record seq-1; '' for the first
    hash       TEXT NOT NULL                       -- SHA-256 of this record's canonical encoding
);
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- The head of the chain: the last record's seq and hash. Appends lock this
-- row, so they are serialised, and verify compares it with the last record,
-- so cutting records off the end is noticed too.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
