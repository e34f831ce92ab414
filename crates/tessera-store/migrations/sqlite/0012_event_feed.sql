-- The events feed (SPEC §9): API keys read webhook_events in order.
-- Keep in step with ../postgres/0012_event_feed.sql.

-- How far pruning has removed each organisation's events: a cursor from
-- before this point may have missed events, and answers 410.
CREATE TABLE event_feed_horizons (
    organization_id TEXT    PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    pruned_through  INTEGER NOT NULL
) STRICT;

-- Secrets every instance of the deployment shares, made once by whichever
-- instance needs one first (e.g. the key that signs feed cursors).
CREATE TABLE deployment_secrets (
    name       TEXT    PRIMARY KEY,
    secret     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
