-- The API clients that have used an organisation's keys, how much, with
-- which keys, and whether the organisation has blocked them (SPEC §4).
-- A block can precede any use, so the use columns may be empty. Keep in
-- step with the other backend's 0006_client_connections.sql.
CREATE TABLE client_connections (
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    client_id       TEXT    NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    first_used_at   BIGINT,
    last_used_at    BIGINT,
    request_count   BIGINT NOT NULL DEFAULT 0,
    blocked_at      BIGINT,
    PRIMARY KEY (organization_id, client_id)
);

CREATE TABLE client_connection_keys (
    organization_id TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    key_id          TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    PRIMARY KEY (organization_id, client_id, key_id),
    FOREIGN KEY (organization_id, client_id)
        REFERENCES client_connections (organization_id, client_id) ON DELETE CASCADE
);
