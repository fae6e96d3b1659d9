-- Conferences, their consent texts, and leads with their submissions.
-- Times are Unix microseconds (UTC). Personal data lives only in the sealed
-- (encrypted) "data" columns.

CREATE TABLE conferences (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    venue           TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT '',
    time_zone       TEXT NOT NULL DEFAULT '',
    start_date      TEXT NOT NULL DEFAULT '',
    end_date        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    definition      TEXT NOT NULL,            -- JSON: interests, questions, names
    consent_version INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE consent_texts (
    conference_id TEXT NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    text          TEXT NOT NULL,
    texts         TEXT NOT NULL,              -- JSON: text by language
    hash          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (conference_id, version)
);

CREATE TABLE leads (
    id                TEXT PRIMARY KEY,
    conference_id     TEXT NOT NULL REFERENCES conferences (id),
    email_index       BLOB NOT NULL,          -- keyed blind index of the email
    submission_id     TEXT NOT NULL,
    source            TEXT NOT NULL,
    device_id         TEXT NOT NULL DEFAULT '',
    consent_contact   INTEGER NOT NULL,
    consent_marketing INTEGER NOT NULL,
    consent_version   INTEGER NOT NULL,
    consent_hash      TEXT NOT NULL,
    consent_at        INTEGER NOT NULL,
    spam              INTEGER NOT NULL DEFAULT 0,
    spam_reason       TEXT NOT NULL DEFAULT '',
    data              BLOB NOT NULL,          -- sealed JSON of the personal fields
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (conference_id, email_index)
);
CREATE INDEX leads_conference ON leads (conference_id, id);

-- Each accepted submission, kept as the lead's history. A submission is also
-- the outbox entry that copies it to the object store: "pending" until the
-- copy is written, retried at next_attempt_at with backoff.
CREATE TABLE submissions (
    seq             INTEGER PRIMARY KEY,        -- insertion order: rows append to the table
    conference_id   TEXT NOT NULL,
    id              TEXT NOT NULL,              -- the client's submission_id
    lead_id         TEXT NOT NULL REFERENCES leads (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    result          TEXT NOT NULL,
    source          TEXT NOT NULL,
    device_id       TEXT NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL,
    data            BLOB NOT NULL,              -- sealed JSON of the submission as received
    pending         INTEGER NOT NULL DEFAULT 1,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    UNIQUE (conference_id, id)
);
CREATE INDEX submissions_lead ON submissions (lead_id, received_at);
CREATE INDEX submissions_pending ON submissions (next_attempt_at, received_at) WHERE pending = 1;
