-- Every decision of a device authorization (approve, deny) is announced
-- on the channel sigil_devices, so each instance can answer a pending
-- device code's polls from memory and read the row again the moment a
-- user answers anywhere. The payload is empty: a decision is rare next
-- to the polls, and every instance simply reads its pending codes again.
CREATE FUNCTION sigil_devices_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sigil_devices', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER sigil_devices_decided AFTER UPDATE OF status OR DELETE ON device_authorizations
    FOR EACH STATEMENT EXECUTE FUNCTION sigil_devices_notify();
CREATE TRIGGER sigil_devices_truncated AFTER TRUNCATE ON device_authorizations
    FOR EACH STATEMENT EXECUTE FUNCTION sigil_devices_notify();
