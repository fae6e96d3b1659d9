-- Conferences, their consent texts, leads with their submissions, and the
-- outbox that copies raw submissions to the object store.
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
CREATE INDEX leads_conference_created ON leads (conference_id, created_at, id);
CREATE INDEX leads_created ON leads (created_at, id);

CREATE TABLE submissions (
    conference_id TEXT NOT NULL,
    id            TEXT NOT NULL,              -- the client's submission_id
    lead_id       TEXT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    result        TEXT NOT NULL,
    source        TEXT NOT NULL,
    device_id     TEXT NOT NULL DEFAULT '',
    received_at   INTEGER NOT NULL,
    data          BLOB NOT NULL,              -- sealed JSON of the submission as received
    PRIMARY KEY (conference_id, id)
);
CREATE INDEX submissions_lead ON submissions (lead_id, received_at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conference_id   TEXT NOT NULL,
    submission_id   TEXT NOT NULL,
    object_key      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
