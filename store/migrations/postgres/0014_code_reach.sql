-- Ending a user's sessions (lock, delete, password change or reset, role
-- removal, sign out everywhere) or one browser session denies the access
-- tokens that authorization codes issued in them, found by the code's
-- user or browser session while the token can live.
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
CREATE INDEX authorization_codes_session ON authorization_codes (session_id);
