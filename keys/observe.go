package keys

import "context"

// observedStore passes every committed change's events to a callback.
type observedStore struct {
	Store
	onEvent func(Event)
}

func (o *observedStore) UpdateKeys(ctx context.Context, fn func(current []Record) (Change, error)) error {
	var events []Event
	err := o.Store.UpdateKeys(ctx, func(cur []Record) (Change, error) {
		ch, err := fn(cur)
		events = ch.Events
		return ch, err
	})
	if err == nil {
		for _, e := range events {
			o.onEvent(e)
		}
	}
	return err
}

// OnEvent registers f to be called with each key event (rotation,
// revocation, …) after the change that carries it commits in this
// process, for metrics. Call it before the manager is used concurrently.
func (m *Manager) OnEvent(f func(Event)) {
	m.store = &observedStore{Store: m.store, onEvent: f}
}
