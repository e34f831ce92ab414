-- The audit log page (SPEC §8, §10) lists an organisation's entries newest
-- first, in pages keyed by id: this index answers "this organisation's
-- entries older than id X" with one backward range scan. (The deployment-
-- wide view walks the primary key.) Keep in step with the other backend's
-- 0009_audit_search.sql.
CREATE INDEX audit_log_by_organization_id ON audit_log (organization_id, id);
