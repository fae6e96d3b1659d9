-- The built-in alarms: the current state of each alarm on each server
-- (node), and the history of their changes. Times are Unix microseconds.

CREATE TABLE alarm_states (
    node       TEXT NOT NULL,
    alarm      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('OK', 'ALARM')),
    value      DOUBLE PRECISION NOT NULL,
    threshold  DOUBLE PRECISION NOT NULL,
    window_ms  BIGINT NOT NULL,
    summary    TEXT NOT NULL,
    since      BIGINT NOT NULL,
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (node, alarm)
);

CREATE TABLE alarm_events (
    id        BIGSERIAL PRIMARY KEY,
    node      TEXT NOT NULL,
    alarm     TEXT NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('OK', 'ALARM')),
    previous  TEXT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    window_ms BIGINT NOT NULL,
    summary   TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX alarm_events_alarm ON alarm_events (alarm, id);
