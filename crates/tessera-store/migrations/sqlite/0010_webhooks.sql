-- Webhooks (SPEC §9). Every change writes one event; each endpoint that
-- subscribes to it gets one message, in the same transaction (an outbox).
-- The delivery worker leases due messages, records each attempt, and
-- retries on a schedule. Times are Unix milliseconds.
-- Keep in step with ../postgres/0010_webhooks.sql.
CREATE TABLE webhook_endpoints (
    id                    TEXT    PRIMARY KEY,
    organization_id       TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                   TEXT    NOT NULL,
    description           TEXT    NOT NULL DEFAULT '',
    -- JSON list of event types and wildcards.
    events                TEXT    NOT NULL,
    -- JSON object of resource → field names, or NULL for whole records.
    fields                TEXT,
    -- The administrators' switch.
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- Set when Tessera disabled the endpoint: 'gone' (it answered 410) or
    -- 'failing' (no success for five days); cleared when re-enabled.
    disabled_reason       TEXT    CHECK (disabled_reason IN ('gone', 'failing')),
    disabled_at           INTEGER,
    secret                TEXT    NOT NULL,
    -- During a rotation's overlap the previous secret signs too.
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    -- The first failure since the last success.
    failing_since         INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_by_organization ON webhook_endpoints (organization_id, id);

CREATE TABLE webhook_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    event_type      TEXT    NOT NULL,
    -- The data resource of a record event.
    resource        TEXT,
    -- Everything the event says, before any endpoint's field limits.
    data            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_events_by_organization ON webhook_events (organization_id, seq);
CREATE INDEX webhook_events_by_age ON webhook_events (created_at);

CREATE TABLE webhook_messages (
    id              TEXT    PRIMARY KEY,
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    organization_id TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    -- The exact body sent and signed.
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Failed attempts since the message was last queued: the schedule's step.
    failures        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    -- While set and in the future, one instance is attempting the message.
    leased_until    INTEGER,
    created_at      INTEGER NOT NULL,
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
) STRICT;
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status = 'pending';
-- Each endpoint's due messages, oldest first: what the worker leases.
CREATE INDEX webhook_messages_due_by_endpoint ON webhook_messages (endpoint_id, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_messages_by_endpoint ON webhook_messages (endpoint_id, id);
CREATE INDEX webhook_messages_by_age ON webhook_messages (created_at);

CREATE TABLE webhook_attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT    NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    -- The HTTP status, or NULL when none came back.
    status     INTEGER,
    latency_ms INTEGER NOT NULL,
    -- NULL on success, else timeout, connection, dns, tls, refused_address
    -- or http_status.
    error      TEXT,
    -- The first 2 KiB of the response body.
    response   TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX webhook_attempts_by_message ON webhook_attempts (message_id, id);
