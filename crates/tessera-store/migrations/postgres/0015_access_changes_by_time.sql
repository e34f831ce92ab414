-- Every instance prunes the access change log of entries older than an
-- hour each minute (`created_at < …`); without this index that is a scan
-- of the whole hour on every instance. The poll itself reads by `seq`, the
-- primary key. Keep in step with ../sqlite/0015_access_changes_by_time.sql.
CREATE INDEX access_changes_by_created_at ON access_changes (created_at);
