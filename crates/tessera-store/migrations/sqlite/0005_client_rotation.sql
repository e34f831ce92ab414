-- Rotating an API client's credential keeps the previous one working until
-- the end of the overlap the operator chose, so the integrator can switch
-- without downtime. Keep in step with ../postgres/0005_client_rotation.sql.
ALTER TABLE api_clients ADD COLUMN previous_credential_hash TEXT;
ALTER TABLE api_clients ADD COLUMN previous_credential_expires_at INTEGER;
CREATE INDEX api_clients_by_previous_credential ON api_clients (previous_credential_hash);
