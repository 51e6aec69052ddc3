-- Meetings: the series (one row per meeting), its roster of room terminals and the
-- local dates of single occurrences called off. Portable between SQLite and PostgreSQL
-- like the registry: TEXT ids, BIGINT unix seconds UTC, BIGINT 0/1 flags.
-- `start_at`/`end_at` are the first occurrence; `last_end_at` is when the last one ends
-- (equal to `end_at` for a one-off meeting), so that the meetings that can touch a time
-- window are found with one range condition. `recurrence` is the rule as JSON, or NULL.

CREATE TABLE meetings (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    agenda            TEXT NOT NULL,
    start_at          BIGINT NOT NULL,
    end_at            BIGINT NOT NULL,
    last_end_at       BIGINT NOT NULL,
    host_endpoint_id  TEXT NOT NULL REFERENCES endpoints (id),
    mode              TEXT NOT NULL,
    recurrence        TEXT NULL,
    cancelled         BIGINT NOT NULL DEFAULT 0,
    created_by        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    revision          BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX meetings_span ON meetings (start_at, last_end_at);

CREATE TABLE meeting_roster (
    meeting_id   TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    endpoint_id  TEXT NOT NULL REFERENCES endpoints (id),
    position     BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, endpoint_id)
);
CREATE INDEX meeting_roster_endpoint ON meeting_roster (endpoint_id);

CREATE TABLE meeting_cancelled_occurrences (
    meeting_id  TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    local_date  TEXT NOT NULL,
    PRIMARY KEY (meeting_id, local_date)
);
