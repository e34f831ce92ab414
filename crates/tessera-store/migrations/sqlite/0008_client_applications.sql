-- Applications for an API client (SPEC §4): an integrating company applies
-- on the public form, the operator approves (which creates the client and
-- links it here) or rejects with a reason. The id is the applicant's
-- reference (`apl_` + 24 random base62 characters), their only handle on
-- the application. Keep in step with ../postgres/0008_client_applications.sql.
CREATE TABLE client_applications (
    id               TEXT    PRIMARY KEY,
    company          TEXT    NOT NULL,
    contact_email    TEXT    NOT NULL,
    purpose          TEXT    NOT NULL,
    expected_volume  TEXT    NOT NULL
                             CHECK (expected_volume IN ('under_10k', '10k_to_100k', 'over_100k')),
    status           TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'approved', 'rejected')),
    rejection_reason TEXT,
    client_id        TEXT    REFERENCES api_clients (id) ON DELETE SET NULL,
    created_at       INTEGER NOT NULL,
    decided_at       INTEGER,
    -- The deciding operator's username.
    decided_by       TEXT,
    CHECK ((status = 'pending' AND decided_at IS NULL)
        OR (status <> 'pending' AND decided_at IS NOT NULL)),
    CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL)
) STRICT;
CREATE INDEX client_applications_by_status ON client_applications (status, created_at);
