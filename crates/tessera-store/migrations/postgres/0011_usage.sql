-- Usage analytics (SPEC §10, docs/usage.md): the raw request log, its daily
-- roll-ups and the per-day field reads. Kept apart from the data tables,
-- written in batches by each instance's usage writer, never in a request.
-- No foreign keys: the log is an append-only record that must not slow or
-- block changes to keys and organisations. Keep in step with
-- ../sqlite/0011_usage.sql.

-- One row per request under /api/, kept TESSERA_USAGE_RETENTION_DAYS.
-- Ids are time-sortable (req_…), so "newest first" is the primary key order.
CREATE TABLE usage_requests (
    id               TEXT    PRIMARY KEY,
    -- NULL when the request named no organisation (no or an unknown key).
    organization_id  TEXT,
    at               BIGINT NOT NULL,
    key_id           TEXT,
    client_id        TEXT,
    method           TEXT    NOT NULL,
    -- The route template (/api/v1/employees/{id}), never the raw path.
    route            TEXT    NOT NULL,
    status           BIGINT NOT NULL,
    latency_ms       BIGINT NOT NULL,
    client_ip        TEXT    NOT NULL,
    request_id       TEXT    NOT NULL,
    -- Data reads: the names of the fields returned, comma-separated.
    fields           TEXT
);
CREATE INDEX usage_requests_by_organization ON usage_requests (organization_id, id);
CREATE INDEX usage_requests_by_time ON usage_requests (at);

-- Requests per UTC day, key, client, route and status, kept 400 days and
-- added to by every batch (INSERT … ON CONFLICT DO UPDATE), so several
-- instances can write at once. Latency is a histogram (upper bounds in ms
-- in the column names): histograms add up, percentiles do not. '' stands
-- for "no key" and "no client", as key parts cannot be NULL.
CREATE TABLE usage_daily (
    organization_id      TEXT    NOT NULL,
    day                  BIGINT NOT NULL,
    key_id               TEXT    NOT NULL,
    client_id            TEXT    NOT NULL,
    route                TEXT    NOT NULL,
    status               BIGINT NOT NULL,
    requests             BIGINT NOT NULL,
    latency_le_1ms       BIGINT NOT NULL DEFAULT 0,
    latency_le_2ms       BIGINT NOT NULL DEFAULT 0,
    latency_le_5ms       BIGINT NOT NULL DEFAULT 0,
    latency_le_10ms      BIGINT NOT NULL DEFAULT 0,
    latency_le_25ms      BIGINT NOT NULL DEFAULT 0,
    latency_le_50ms      BIGINT NOT NULL DEFAULT 0,
    latency_le_100ms     BIGINT NOT NULL DEFAULT 0,
    latency_le_250ms     BIGINT NOT NULL DEFAULT 0,
    latency_le_500ms     BIGINT NOT NULL DEFAULT 0,
    latency_le_1000ms    BIGINT NOT NULL DEFAULT 0,
    latency_le_2500ms    BIGINT NOT NULL DEFAULT 0,
    latency_le_10000ms   BIGINT NOT NULL DEFAULT 0,
    latency_over_10000ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, day, key_id, client_id, route, status)
);
CREATE INDEX usage_daily_by_key ON usage_daily (organization_id, key_id, day);

-- How often each key received each field, per UTC day (SPEC §10 "reads"):
-- aggregated, never per request. Kept 400 days.
CREATE TABLE usage_field_reads (
    organization_id  TEXT    NOT NULL,
    day              BIGINT NOT NULL,
    key_id           TEXT    NOT NULL,
    resource         TEXT    NOT NULL,
    field            TEXT    NOT NULL,
    reads            BIGINT NOT NULL,
    PRIMARY KEY (organization_id, resource, field, day, key_id)
);
