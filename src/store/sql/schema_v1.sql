-- tower-authy schema, version 1. Portable between SQLite and PostgreSQL:
-- times are Unix milliseconds in BIGINT columns, statuses are text.
CREATE TABLE IF NOT EXISTS tower_authy_enrollments (
    user_id          TEXT PRIMARY KEY,
    provider_user_id TEXT NOT NULL,
    state            TEXT NOT NULL,
    masked_phone     TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS tower_authy_approvals (
    uuid            TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    session_binding TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    processed_at    BIGINT
);
CREATE INDEX IF NOT EXISTS tower_authy_approvals_user ON tower_authy_approvals (user_id);

CREATE TABLE IF NOT EXISTS tower_authy_attempts (
    user_id      TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    window_ends  BIGINT NOT NULL,
    locked_until BIGINT
);

CREATE TABLE IF NOT EXISTS tower_authy_grace_logins (
    user_id TEXT PRIMARY KEY,
    used    BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS tower_authy_device_generations (
    user_id    TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS tower_authy_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS tower_authy_nonces_expiry ON tower_authy_nonces (expires_at);
