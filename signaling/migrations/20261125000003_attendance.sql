-- Attendance: one row per join, leave or drop of a participant in a meeting
-- occurrence's room, written as it happens. Portable like the rest: TEXT ids made in
-- Rust (so that a write retried after a lost answer is not doubled), BIGINT unix
-- milliseconds. No foreign key: the record outlives changes to the registry, and the
-- terminal's name is kept as it was then.

CREATE TABLE attendance (
    id           TEXT PRIMARY KEY,
    meeting_id   TEXT NOT NULL,
    occurrence   BIGINT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    name         TEXT NOT NULL,
    event        TEXT NOT NULL,
    at_ms        BIGINT NOT NULL
);
CREATE INDEX attendance_occurrence ON attendance (meeting_id, occurrence, at_ms);
