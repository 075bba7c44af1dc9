package authority

import (
	"context"
	"time"
)

// EventQuery selects audit events: newest first, older than Before (an id
// cursor; 0 means from the newest), of Type and UserID when set, at or
// after From and before To when set, at most Limit (default 100, at most
// 500).
type EventQuery struct {
	Before int64
	Type   string
	UserID string
	From   time.Time
	To     time.Time
	Limit  int
}

// EventLog reads the audit log.
type EventLog interface {
	ListEvents(ctx context.Context, q EventQuery) ([]Event, error)
}

// Events returns audit events matching q, newest first.
func (s *Service) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	if q.Type != "" && !PlainID(q.Type) {
		return nil, invalid("type", "is not an event type")
	}
	if q.UserID != "" && !PlainID(q.UserID) {
		return nil, invalid("userId", "is not a user id")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, invalid("from", "must be before to")
	}
	return s.store.ListEvents(ctx, q)
}

// Audit records an event on behalf of another layer (the HTTP rate
// limiter). Like every audit write, a failure is logged, not returned.
func (s *Service) Audit(ctx context.Context, e Event) { s.audit(ctx, e) }
