-- Login attempts in flight. An attempt is reserved in this row before its
-- password is hashed and settled after, so parallel guesses for one email
-- count against the lockout threshold together with the failures, on every
-- instance sharing the database. in_flight_at is when the last reservation
-- was made: a count older than a minute is left over by a process that
-- stopped mid-attempt and is forgotten.
ALTER TABLE login_throttle ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_throttle ADD COLUMN in_flight_at BIGINT NOT NULL DEFAULT 0;
