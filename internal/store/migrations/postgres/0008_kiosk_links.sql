-- Kiosk device links (leadcap kiosk link): one row per tablet of a
-- conference, for the link it was given last. Every link carries its issue
-- time, which the servers compare with the row: a link issued before the
-- row's was replaced by a newer one, and a link issued at or before
-- revoked_at was revoked. Re-issuing moves issued_at past revoked_at, so
-- the new link works and every older one stays refused. Times are Unix
-- microseconds (UTC); 0 means none.
CREATE TABLE kiosk_links (
    conference_id TEXT NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    device_id     TEXT NOT NULL,
    label         TEXT NOT NULL DEFAULT '',
    issued_at     BIGINT NOT NULL DEFAULT 0,  -- 0: revoked before any link was recorded
    expires_at    BIGINT NOT NULL DEFAULT 0,
    issued_by     TEXT NOT NULL DEFAULT '',
    revoked_at    BIGINT NOT NULL DEFAULT 0,
    revoked_by    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (conference_id, device_id)
);

-- One row whose version moves in the transaction of every change to
-- kiosk_links; servers read it at most once a second and reload the links
-- when it moves. The first change inserts it (no row reads as version 0),
-- so that a new database holds no rows.
CREATE TABLE kiosk_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
