-- The shield: block and allow rules, the marker servers poll to pick up a
-- rule change within a second, the sampled record of blocked requests, and
-- the proof-of-work solutions already used. Times are Unix microseconds
-- (UTC); 0 means "never".

CREATE TABLE shield_rules (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action     TEXT NOT NULL CHECK (action IN ('block', 'allow')),
    network    TEXT NOT NULL DEFAULT '',   -- canonical CIDR; '' for a country rule
    country    TEXT NOT NULL DEFAULT '',   -- ISO 3166-1 alpha-2; '' for a network rule
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL DEFAULT 0,
    CHECK ((network = '') <> (country = '')),
    UNIQUE (action, network, country)
);

-- One row whose version is bumped in the same transaction as every rule
-- change; servers poll it a few times a second and reload when it moves.
CREATE TABLE shield_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO shield_state (id, version) VALUES (1, 0);

-- Requests refused by a rule or a rate limit, counted per rule, client IP
-- and second, with at most a fixed number of rows per second and server.
CREATE TABLE shield_blocks (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    rule      TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    country   TEXT NOT NULL DEFAULT '',
    route     TEXT NOT NULL DEFAULT '',
    count     BIGINT NOT NULL
);
CREATE INDEX shield_blocks_at ON shield_blocks (at);

-- Proof-of-work solutions seen, so that each is accepted once; kept until
-- the render token they were made for expires.
CREATE TABLE shield_pow_used (
    digest        BYTEA PRIMARY KEY,          -- SHA-256 of token and nonce
    submission_id TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX shield_pow_used_expires ON shield_pow_used (expires_at);
