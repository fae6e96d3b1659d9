-- Exports: files of leads stored encrypted in the object store at
-- object_key until expires_at. row_count, byte_count and sha256 describe the
-- plaintext file. A running export updates row_count and heartbeat_at as it
-- goes; one whose heartbeat stops (its server died) is failed by the janitor.
CREATE TABLE exports (
    id           TEXT PRIMARY KEY,            -- UUIDv7: id order is creation order
    format       TEXT NOT NULL,
    preset       TEXT NOT NULL,               -- column preset: leadcap, hubspot, salesforce
    bom          INTEGER NOT NULL DEFAULT 0,
    filter       TEXT NOT NULL,               -- JSON of the lead filter
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    row_count    INTEGER NOT NULL DEFAULT 0,
    row_total    INTEGER NOT NULL DEFAULT 0,  -- rows expected, for progress
    byte_count   INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT NOT NULL DEFAULT '',
    object_key   TEXT NOT NULL,
    created_by   TEXT,                        -- user id; NULL for the CLI
    created_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    finished_at  INTEGER,
    expires_at   INTEGER NOT NULL,
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX exports_expires ON exports (expires_at);
CREATE INDEX exports_running ON exports (heartbeat_at) WHERE status = 'running';
