-- tower-authy schema, version 2: attempt counters are keyed by what they
-- count (kind: code, send) and for whom (subject: user:<id>). Version 1's
-- counters are carried over by the statement that follows this script, and
-- their table goes.
CREATE TABLE IF NOT EXISTS tower_authy_attempt_counters (
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    failures     BIGINT NOT NULL,
    window_ends  BIGINT NOT NULL,
    locked_until BIGINT,
    PRIMARY KEY (kind, subject)
);
