package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/lib/pq"
)

// ListenKeys returns a channel that receives a value whenever another
// instance changes the key set (Postgres LISTEN on KeysChannel), and also
// after the listener reconnects, since notifications may have been missed
// while it was away, and once the first connection is up, since a change
// may have happened between loading the keys and listening. On SQLite, with one instance, it returns nil (a nil
// channel never fires) and the periodic reload alone keeps keys current.
// The listener stops when ctx ends.
func (d *DB) ListenKeys(ctx context.Context, log *slog.Logger) (<-chan struct{}, error) {
	if d.dialect != Postgres {
		return nil, nil
	}
	_, src, _ := ParseURL(d.url)
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	l := pq.NewListener(src, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			log.Warn("key listener", "event", ev.String(), "err", err)
		}
		if ev == pq.ListenerEventConnected {
			signal()
		}
	})
	if err := l.Listen(KeysChannel); err != nil {
		l.Close()
		return nil, d.wrap(err)
	}
	signal()
	go func() {
		defer l.Close()
		ping := time.NewTicker(30 * time.Second)
		defer ping.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case n := <-l.Notify:
				// A nil notification means the connection was
				// re-established: reload in case something was missed.
				_ = n
				signal()
			case <-ping.C:
				go l.Ping()
			}
		}
	}()
	return out, nil
}
