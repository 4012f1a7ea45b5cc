-- tower-authy schema, version 3: a user has zero or more factors. Version
-- 2's enrollments (one per user) are carried over as factors of kind
-- 'authy' by the statement that follows this script, and their table goes.
CREATE TABLE IF NOT EXISTS tower_authy_factors (
    user_id            TEXT NOT NULL,
    id                 TEXT NOT NULL,
    kind               TEXT NOT NULL,
    label              TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT,
    provider_ref       TEXT NOT NULL,
    identity           TEXT,
    hint               TEXT,
    -- 1: the identity belongs to this user alone; 0: shared (opted in).
    exclusive_identity BIGINT NOT NULL,
    PRIMARY KEY (user_id, id)
);
-- One user holds an identity once; an exclusive identity one user at all
-- (NULL identities, local factors, never clash).
CREATE UNIQUE INDEX IF NOT EXISTS tower_authy_factors_user_identity
    ON tower_authy_factors (user_id, identity);
CREATE UNIQUE INDEX IF NOT EXISTS tower_authy_factors_exclusive_identity
    ON tower_authy_factors (identity) WHERE exclusive_identity = 1;
CREATE INDEX IF NOT EXISTS tower_authy_factors_identity
    ON tower_authy_factors (identity);
