package store

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/sigil-auth/sigil/authority"
)

// ClientsChannel is the Postgres NOTIFY channel on which a trigger
// (migration 0011) announces every change to the clients table, with the
// client id as payload ("" for all of them).
const ClientsChannel = "sigil_clients"

// DevicesChannel is the Postgres NOTIFY channel on which a trigger
// (migration 0022) announces every decision of a device authorization.
const DevicesChannel = "sigil_devices"

// Bounds of the client cache.
const (
	// maxCachedClients bounds the cache's memory; past it the cache starts
	// over. Only clients that exist are kept, so unknown ids sent by
	// anyone cannot fill it.
	maxCachedClients = 10000
	// clientCacheTTL bounds how long an entry is served without reading
	// the row again, as a backstop: notifications keep entries fresh, and
	// a listener that stops answering turns the cache off within
	// clientListenPing.
	clientCacheTTL = time.Minute
	// clientListenPing is how often the listener's connection is checked.
	clientListenPing = 5 * time.Second
	// clientPollSQLite is how often, on SQLite, the writer's connection
	// is asked whether another process changed the file.
	clientPollSQLite = 250 * time.Millisecond
)

// clientCache keeps the client rows ClientByID has read, so that a token
// request does not read its client from the database every time.
//
// On Postgres it only serves while this instance listens on
// ClientsChannel: a change anywhere removes the entry as soon as the
// notification arrives (and at once on the instance that made it). While
// the listener is down the cache is off and empty; when it reconnects the
// cache starts empty, since notifications may have been missed.
//
// On SQLite this process makes every change through its one writer
// connection and forgets the client at once. Another process (the CLI)
// writing the same file changes the writer connection's data_version,
// which is polled every clientPollSQLite: a change there empties the
// cache, and a poll that fails turns it off until one succeeds.
type clientCache struct {
	mu      sync.Mutex
	on      bool
	gen     uint64 // bumped by every invalidation; see put
	entries map[string]cachedClient
}

type cachedClient struct {
	c      authority.Client
	loaded time.Time
}

// get returns a cached client, or the generation to pass to put after
// reading the row.
func (cc *clientCache) get(id string) (authority.Client, bool, uint64) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.on {
		return authority.Client{}, false, cc.gen
	}
	e, ok := cc.entries[id]
	if !ok || time.Since(e.loaded) > clientCacheTTL {
		return authority.Client{}, false, cc.gen
	}
	return cloneClient(e.c), true, cc.gen
}

// put caches c, read after get returned gen, unless something was
// invalidated since: the row may have been read before a change whose
// notification has already been handled.
func (cc *clientCache) put(c authority.Client, gen uint64, loaded time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.on || gen != cc.gen {
		return
	}
	if len(cc.entries) >= maxCachedClients {
		cc.entries = map[string]cachedClient{}
	}
	cc.entries[c.ID] = cachedClient{c: cloneClient(c), loaded: loaded}
}

// invalidate forgets one client ("" forgets all).
func (cc *clientCache) invalidate(id string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	if id == "" {
		clear(cc.entries)
		return
	}
	delete(cc.entries, id)
}

// setOn empties the cache and turns it on (the listener is up) or off.
func (cc *clientCache) setOn(on bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	cc.on = on
	cc.entries = map[string]cachedClient{}
}

// cloneClient copies the slices, so no caller can change a cached entry.
func cloneClient(c authority.Client) authority.Client {
	c.Scopes = slices.Clone(c.Scopes)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	return c
}

// FollowChanges keeps what this process holds in memory in step with
// changes made anywhere: the client cache (see clientCache) and the
// device decisions (see DeviceWatch). On Postgres it listens on
// ClientsChannel and DevicesChannel; while the listener is connected,
// ClientByID serves from memory and a notification forgets what changed,
// and if the listener's connection drops (or stops answering its pings)
// both are turned off until it reconnects. On SQLite it polls the writer
// connection's data_version, which another process's writes change. It
// stops when ctx ends; both are then off again.
func (d *DB) FollowChanges(ctx context.Context, log *slog.Logger) error {
	if d.dialect != Postgres {
		return d.followSQLite(ctx, log)
	}
	_, src, _ := ParseURL(d.url)
	cc, dw := &d.clients, &d.devices
	setOn := d.following
	l := pq.NewListener(src, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			setOn(false)
			log.Warn("client cache off: change notifications lost", "event", ev.String(), "err", err)
		case pq.ListenerEventReconnected:
			// Every channel is listened to again before this event.
			setOn(true)
			log.Info("client cache on again: change notifications restored")
		}
	})
	for _, ch := range []string{ClientsChannel, DevicesChannel} {
		if err := l.Listen(ch); err != nil {
			l.Close()
			return d.wrap(err)
		}
	}
	setOn(true)
	go func() {
		defer setOn(false)
		defer l.Close()
		ping := time.NewTicker(clientListenPing)
		defer ping.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case n := <-l.Notify:
				switch {
				case n == nil:
					// Reconnected: whatever was missed is forgotten.
					d.forgetAll()
				case n.Channel == DevicesChannel:
					dw.bump()
				default:
					cc.invalidate(n.Extra)
				}
			case <-ping.C:
				go func() {
					if err := l.Ping(); err != nil && ctx.Err() == nil {
						// The connection may be gone without the
						// listener knowing yet: serve from the database
						// until it reconnects.
						setOn(false)
						log.Warn("client cache off: change listener does not answer", "err", err)
					}
				}()
			}
		}
	}()
	return nil
}

// followSQLite turns the cache and the device watch on and polls the
// writer connection's data_version, which changes when a connection
// other than the writer (this process's readers write nothing) has
// committed: another process.
func (d *DB) followSQLite(ctx context.Context, log *slog.Logger) error {
	setOn := d.following
	v, err := d.dataVersion(ctx)
	if err != nil {
		return err
	}
	setOn(true)
	go func() {
		defer setOn(false)
		tick := time.NewTicker(clientPollSQLite)
		defer tick.Stop()
		on := true
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now, err := d.dataVersion(ctx)
			switch {
			case err != nil:
				if on && ctx.Err() == nil {
					setOn(false)
					on = false
					log.Warn("client cache off: the database does not answer", "err", err)
				}
			case !on:
				setOn(true)
				on, v = true, now
				log.Info("client cache on again")
			case now != v:
				d.forgetAll()
				v = now
			}
		}
	}()
	return nil
}

// following turns the client cache and the device watch on (emptied)
// or off together: both are only as good as the change feed.
func (d *DB) following(on bool) {
	d.clients.setOn(on)
	d.devices.setOn(on)
}

// forgetAll forgets every cached client and every pending device code
// read so far: changes may have been missed.
func (d *DB) forgetAll() {
	d.clients.invalidate("")
	d.devices.bump()
}

// dataVersion is SQLite's data_version on the writer connection: it
// changes when another connection, so another process, commits.
func (d *DB) dataVersion(ctx context.Context) (int64, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var v int64
	if err := d.w.GetContext(ctx, &v, `PRAGMA data_version`); err != nil {
		return 0, d.wrap(err)
	}
	return v, nil
}

// deviceWatch numbers the moments at which a device authorization may
// have been decided anywhere, while FollowChanges follows them.
type deviceWatch struct {
	mu  sync.Mutex
	on  bool
	gen uint64
}

func (w *deviceWatch) bump() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gen++
}

func (w *deviceWatch) setOn(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gen++
	w.on = on
}

// DeviceWatch returns a number that changes whenever a device
// authorization may have been decided, here or anywhere else, and
// whether such decisions are being followed (FollowChanges runs and its
// listener is connected). A pending device code read at one number is
// still pending while the number stays the same.
func (d *DB) DeviceWatch() (gen uint64, following bool) {
	w := &d.devices
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen, w.on
}
