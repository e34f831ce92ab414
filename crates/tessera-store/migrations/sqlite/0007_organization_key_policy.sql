-- An organisation's policy for new API keys (console ▸ Organisation): the
-- longest lifetime a key may be given, in days (NULL: no limit), and the IP
-- allow-list a key gets when it is created without one (a JSON array of
-- CIDR ranges; NULL: none). Existing keys are not changed by either.
-- Keep in step with ../postgres/0007_organization_key_policy.sql.
ALTER TABLE organizations ADD COLUMN max_key_lifetime_days INTEGER
    CHECK (max_key_lifetime_days BETWEEN 1 AND 3650);
ALTER TABLE organizations ADD COLUMN default_ip_allowlist TEXT;
