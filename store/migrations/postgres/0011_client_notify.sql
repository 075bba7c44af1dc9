-- Every change to a client is announced on the channel sigil_clients, so
-- each instance can keep the clients it has read in memory and forget one
-- the moment it is changed or deleted anywhere: by another instance, by
-- `sigil clients` on another machine, or by hand in psql. The payload is
-- the client id; an empty payload (TRUNCATE) means every client.
CREATE FUNCTION sigil_clients_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('sigil_clients', '');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('sigil_clients', OLD.id);
    ELSE
        PERFORM pg_notify('sigil_clients', NEW.id);
        IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
            PERFORM pg_notify('sigil_clients', OLD.id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sigil_clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION sigil_clients_notify();
CREATE TRIGGER sigil_clients_truncated AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION sigil_clients_notify();
