-- The data API's records (SPEC §5). Every resource shares one table: a
-- record's declared fields are one JSON object, validated against the
-- resource declarations in tessera-core before it is written, so adding a
-- field or a resource needs no migration. Keep in step with
-- ../postgres/0004_records.sql.

CREATE TABLE records (
    id              TEXT    PRIMARY KEY,
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    resource        TEXT    NOT NULL,
    data            TEXT    NOT NULL,
    -- Bumped by every update; the ETag is derived from it.
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
-- Without a rowid the text primary key is the table's own b-tree, so
-- `GET /{resource}/{id}` is one b-tree search instead of two.
) STRICT, WITHOUT ROWID;
CREATE INDEX records_by_resource ON records (organization_id, resource, id);

-- One row per value of a filterable field and per reference: equality
-- filters and "who refers to this record" are index lookups, the same on
-- both backends.
CREATE TABLE record_index (
    organization_id TEXT NOT NULL,
    resource        TEXT NOT NULL,
    field           TEXT NOT NULL,
    value           TEXT NOT NULL,
    record_id       TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    PRIMARY KEY (organization_id, resource, field, value, record_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_index_by_value ON record_index (organization_id, value);
CREATE INDEX record_index_by_record ON record_index (record_id);

-- Uploaded files live in the database so that every instance serves them.
CREATE TABLE document_contents (
    record_id TEXT PRIMARY KEY REFERENCES records (id) ON DELETE CASCADE,
    content   BLOB NOT NULL
) STRICT;

-- Answers to POSTs sent with an Idempotency-Key, kept 24 hours.
CREATE TABLE idempotency_keys (
    api_key_id      TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    request_hash    TEXT    NOT NULL,
    status          INTEGER NOT NULL,
    location        TEXT,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
) STRICT;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
