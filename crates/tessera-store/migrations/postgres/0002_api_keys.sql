-- API keys (SPEC §3) and the change log that keeps every instance's key
-- cache fresh. Keep in step with ../sqlite/0002_api_keys.sql.

CREATE TABLE api_keys (
    id               TEXT    PRIMARY KEY,
    organization_id  TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    -- SHA-256 of the raw key; the raw key itself is never stored.
    key_hash         TEXT    NOT NULL UNIQUE,
    hint             TEXT    NOT NULL,
    owner_account_id TEXT    REFERENCES accounts (id) ON DELETE CASCADE,
    owner_bot_id     TEXT    REFERENCES bot_users (id) ON DELETE CASCADE,
    created_by       TEXT    NOT NULL,
    -- The key's own grant as JSON; NULL with no role means full access.
    permissions      TEXT,
    role_id          TEXT    REFERENCES roles (id),
    expires_at       BIGINT,
    -- JSON array of CIDR ranges; NULL means any address.
    ip_allowlist     TEXT,
    client_id        TEXT    REFERENCES api_clients (id),
    created_at       BIGINT  NOT NULL,
    last_used_at     BIGINT,
    last_used_ip     TEXT,
    revoked_at       BIGINT,
    revoked_reason   TEXT,
    CHECK ((owner_account_id IS NULL) <> (owner_bot_id IS NULL)),
    CHECK (permissions IS NULL OR role_id IS NULL)
);
CREATE INDEX api_keys_by_organization ON api_keys (organization_id, id);
CREATE INDEX api_keys_by_owner_account ON api_keys (owner_account_id);

-- Every change that can alter a key's verdict (revocation, role edits,
-- owner deactivation) appends a row here in the same transaction; every
-- instance applies new rows to its cache.
CREATE TABLE access_changes (
    seq        BIGSERIAL PRIMARY KEY,
    scope      TEXT    NOT NULL CHECK (scope IN ('key', 'organization')),
    target     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

-- PostgreSQL also pushes each change to every listening instance at commit,
-- so caches are invalidated in milliseconds rather than at the next poll.
CREATE FUNCTION tessera_notify_access_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('tessera_access_changes', NEW.scope || ':' || NEW.target);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER access_changes_notify AFTER INSERT ON access_changes
    FOR EACH ROW EXECUTE FUNCTION tessera_notify_access_change();
