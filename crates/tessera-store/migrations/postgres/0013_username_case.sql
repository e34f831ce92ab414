-- Usernames are unique whatever their case: "Ada" and "ada" are one
-- account (sign-in, HTTP Basic and creation compare lower(username)).
-- Keep in step with ../sqlite/0013_username_case.sql.
--
-- A deployment that already holds usernames differing only in case cannot
-- get the index; the migration stops and names them. docs/security.md says
-- how an operator resolves it (rename all but one of each group, then run
-- the migration again).
DO $$
DECLARE
    colliding TEXT;
BEGIN
    SELECT string_agg(username, ', ' ORDER BY lower(username), username COLLATE "C")
      INTO colliding
      FROM accounts
     WHERE lower(username) IN (
           SELECT lower(username) FROM accounts
            GROUP BY lower(username) HAVING count(*) > 1);
    IF colliding IS NOT NULL THEN
        RAISE EXCEPTION 'migration 0013 needs usernames to be unique regardless of case, but these differ only in case: %', colliding
            USING HINT = 'Rename all but one of each group (UPDATE accounts SET username = ... WHERE id = ...), then run tessera migrate again; see docs/security.md.';
    END IF;
END
$$;

CREATE UNIQUE INDEX accounts_username_lower ON accounts (lower(username));
