-- Usernames are unique whatever their case: "Ada" and "ada" are one
-- account (sign-in, HTTP Basic and creation compare lower(username)).
-- Keep in step with ../postgres/0013_username_case.sql.
--
-- A deployment that already holds usernames differing only in case cannot
-- get the index; the migration stops with a message saying so (SQLite's
-- RAISE takes only a fixed text, so it cannot name them; the query in
-- docs/security.md lists them). The check runs through a temporary
-- trigger because RAISE is allowed only in triggers.
CREATE TEMP TABLE migration_0013_case_collisions (colliding INTEGER NOT NULL);
CREATE TEMP TRIGGER migration_0013_refuse_case_collisions
BEFORE INSERT ON migration_0013_case_collisions
WHEN NEW.colliding > 0
BEGIN
    SELECT RAISE(ABORT, 'migration 0013 needs usernames to be unique regardless of case, but some accounts have usernames that differ only in case. List them with: SELECT username FROM accounts WHERE lower(username) IN (SELECT lower(username) FROM accounts GROUP BY lower(username) HAVING count(*) > 1); rename all but one of each group, then run tessera migrate again (see docs/security.md).');
END;
INSERT INTO migration_0013_case_collisions (colliding)
SELECT count(*) FROM (
    SELECT lower(username) FROM accounts
     GROUP BY lower(username) HAVING count(*) > 1);
DROP TABLE migration_0013_case_collisions;

CREATE UNIQUE INDEX accounts_username_lower ON accounts (lower(username));
