-- A sign-in through an upstream started by a browser that is signed in
-- already (the account page's "Sign in again", a link from the account
-- page) must be a new sign-in at the upstream, not its session answering.
ALTER TABLE upstream_pending ADD COLUMN fresh BOOLEAN NOT NULL DEFAULT FALSE;
