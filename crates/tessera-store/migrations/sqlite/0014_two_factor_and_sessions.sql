-- Accounts (issue 16): the session list, two-factor sign-in, app passwords
-- and the organisation's two-factor rule for administrators.
-- Keep in step with ../postgres/0014_two_factor_and_sessions.sql.

-- What "your sessions" shows: when each was last used and from what browser
-- (the first 256 characters of its User-Agent). NULL for sessions started
-- before this migration until their next request.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- TOTP (RFC 6238). `totp_secret` is the base32 secret once confirmed (two-factor
-- is on exactly when it is set); `totp_pending_secret` the one shown on the
-- enrolment page until a code from it is entered; `totp_last_step` the last
-- 30-second step whose code was accepted, so no code is accepted twice.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER;
ALTER TABLE accounts ADD COLUMN totp_enabled_at INTEGER;

-- One-time recovery codes, SHA-256 of each (they are random); a used one
-- keeps its row with `used_at`, so the page can count what is left.
CREATE TABLE recovery_codes (
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (account_id, code_hash)
) STRICT;

-- Between the password and the code: the SHA-256 of a random token the
-- browser holds in a cookie for five minutes. It grants nothing but the
-- right to type a code; `failed_codes` ends it after five wrong ones.
CREATE TABLE pending_sign_ins (
    token_hash   TEXT    PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    failed_codes INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_sign_ins_by_expiry ON pending_sign_ins (expires_at);

-- App passwords: what an account with two-factor sign-in uses for HTTP
-- Basic on the key-management API. `lookup` is the public part of the
-- password (`tap_<lookup>_<secret>`), so one Argon2id check suffices.
CREATE TABLE app_passwords (
    id            TEXT    PRIMARY KEY,
    account_id    TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    lookup        TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;
CREATE INDEX app_passwords_by_account ON app_passwords (account_id);

-- "Administrators must use two-factor sign-in" (console ▸ Organisation).
ALTER TABLE organizations ADD COLUMN administrators_need_two_factor INTEGER NOT NULL DEFAULT 0
    CHECK (administrators_need_two_factor IN (0, 1));
