-- Optional per-key rate limits, applied on top of the organisation's bucket.
ALTER TABLE api_keys ADD COLUMN rate_limit_per_second INTEGER;
ALTER TABLE api_keys ADD COLUMN rate_limit_burst INTEGER;
