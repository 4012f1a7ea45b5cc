-- tower-authy schema, version 4: local factors. An authenticator app's
-- seed, sealed with the application's key (never in the clear), and the
-- last time step a code of it was accepted at (the replay guard).
ALTER TABLE tower_authy_factors ADD COLUMN secret TEXT;
ALTER TABLE tower_authy_factors ADD COLUMN last_step BIGINT;
