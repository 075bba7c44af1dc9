-- OAuth 2.1: every client of the authorization code flow sends PKCE, the
-- confidential ones too, unless the client is registered with
-- pkce_optional. Existing clients get the default: PKCE required.
ALTER TABLE clients ADD COLUMN pkce_optional BOOLEAN NOT NULL DEFAULT FALSE;
