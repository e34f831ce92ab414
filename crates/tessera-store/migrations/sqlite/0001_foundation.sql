-- Foundation: organisations, roles, accounts (operators and users), bot
-- users, console sessions, the audit log and API clients.
-- SQLite dialect: STRICT tables, booleans as 0/1 integers, times as Unix
-- milliseconds. Keep in step with ../postgres/0001_foundation.sql.

CREATE TABLE organizations (
    id                    TEXT    PRIMARY KEY,
    slug                  TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL,
    key_creation          TEXT    NOT NULL DEFAULT 'administrators'
                                  CHECK (key_creation IN ('administrators', 'everyone')),
    rate_limit_per_second INTEGER NOT NULL DEFAULT 100 CHECK (rate_limit_per_second > 0),
    rate_limit_burst      INTEGER NOT NULL DEFAULT 200 CHECK (rate_limit_burst > 0),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

CREATE TABLE roles (
    id              TEXT    PRIMARY KEY,
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('administrator', 'employee', 'custom')),
    -- JSON permission set; NULL means full access.
    permissions     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (organization_id, name)
) STRICT;

-- Operators and organisation users share one table so that a username is
-- unique across the whole deployment by a single index.
CREATE TABLE accounts (
    id              TEXT    PRIMARY KEY,
    username        TEXT    NOT NULL UNIQUE,
    password_hash   TEXT    NOT NULL,
    is_operator     INTEGER NOT NULL CHECK (is_operator IN (0, 1)),
    organization_id TEXT    REFERENCES organizations (id) ON DELETE CASCADE,
    role_id         TEXT    REFERENCES roles (id),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((is_operator = 1 AND organization_id IS NULL AND role_id IS NULL)
        OR (is_operator = 0 AND organization_id IS NOT NULL AND role_id IS NOT NULL))
) STRICT;
CREATE INDEX accounts_by_organization ON accounts (organization_id);

CREATE TABLE bot_users (
    id              TEXT    PRIMARY KEY,
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    role_id         TEXT    NOT NULL REFERENCES roles (id),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (organization_id, name)
) STRICT;

-- The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    ip          TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    id              TEXT    PRIMARY KEY,
    organization_id TEXT    REFERENCES organizations (id),
    actor_kind      TEXT    NOT NULL,
    actor_id        TEXT,
    actor_name      TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    target          TEXT,
    ip              TEXT,
    details         TEXT,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_log_by_organization ON audit_log (organization_id, created_at);

CREATE TABLE api_clients (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    credential_hash TEXT    NOT NULL UNIQUE,
    credential_hint TEXT    NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
