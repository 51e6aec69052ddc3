-- The registry: organisation units, room terminals (endpoints) and staff accounts.
-- Portable between SQLite and PostgreSQL: ids are TEXT made in Rust, times BIGINT unix
-- seconds UTC, flags BIGINT 0/1.

CREATE TABLE units (
    id          TEXT PRIMARY KEY,
    parent_id   TEXT NULL REFERENCES units (id),
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX units_parent ON units (parent_id);

CREATE TABLE endpoints (
    id                TEXT PRIMARY KEY,
    unit_id           TEXT NOT NULL REFERENCES units (id),
    name              TEXT NOT NULL,
    location          TEXT NOT NULL,
    bitrate_cap_kbps  BIGINT NULL,
    credential_hash   TEXT NOT NULL,
    revoked           BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    CONSTRAINT endpoints_unit_name UNIQUE (unit_id, name)
);
CREATE UNIQUE INDEX endpoints_credential ON endpoints (credential_hash);

CREATE TABLE staff (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT staff_username UNIQUE (username)
);
