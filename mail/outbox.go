package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// Row is one message in the outbox. Body is the rendered Message sealed
// with the key-encryption key: it carries single-use links, which are
// secrets.
type Row struct {
	ID            string
	UserID        string
	Kind          string
	Body          string
	Status        string // pending, sending, sent, failed
	Attempts      int
	NextAttemptAt time.Time
	ClaimedBy     string
	LeaseUntil    time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// Queue is the durable outbox the store keeps.
type Queue interface {
	// EnqueueMail stores a pending row.
	EnqueueMail(ctx context.Context, r Row) error
	// ClaimMail marks up to limit due pending rows as sending by owner
	// until leaseUntil and returns them. A row is claimed by one caller
	// only, across every instance on the database.
	ClaimMail(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]Row, error)
	// FinishMail marks a row owner claimed as sent.
	FinishMail(ctx context.Context, id, owner string, at time.Time) error
	// RetryMail puts a row owner claimed back to pending, due at next.
	RetryMail(ctx context.Context, id, owner string, attempts int, next time.Time, lastError string) error
	// FailMail marks a row owner claimed as failed for good.
	FailMail(ctx context.Context, id, owner string, attempts int, lastError string) error
	// ExpireMailLeases marks failed the rows still sending whose lease
	// ended before now (their sender stopped mid-delivery, so whether the
	// server got them is unknown; sending again could deliver twice), and
	// returns them.
	ExpireMailLeases(ctx context.Context, now time.Time) ([]Row, error)
}

// Outbox renders the authority's mail and queues it; it is the
// authority.Mailer of a running server. It never talks to the mail server,
// so a request never waits on it.
type Outbox struct {
	queue     Queue
	sealer    *keys.Sealer
	templates *Templates
	product   string
	now       func() time.Time
	wake      chan struct{}
}

// NewOutbox returns an outbox over queue that seals bodies with sealer.
func NewOutbox(queue Queue, sealer *keys.Sealer, templates *Templates, product string, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{queue: queue, sealer: sealer, templates: templates, product: product, now: now, wake: make(chan struct{}, 1)}
}

// Wake is signalled each time a message is queued, so the sender of this
// instance starts at once instead of at its next poll.
func (o *Outbox) Wake() <-chan struct{} { return o.wake }

// Queue renders m and stores it for the sender.
func (o *Outbox) Queue(ctx context.Context, m authority.Mail) error {
	msg, err := o.templates.Render(m.Kind, m.To, Data{Product: o.product, Name: m.Name, Email: m.Email, Link: m.Link, Expires: humanDuration(m.Expires), Factor: m.Factor})
	if err != nil {
		return err
	}
	id := newID()
	body, err := o.seal(id, msg)
	if err != nil {
		return err
	}
	now := o.now().UTC()
	if err := o.queue.EnqueueMail(ctx, Row{ID: id, UserID: m.UserID, Kind: m.Kind, Body: body, Status: "pending", NextAttemptAt: now, CreatedAt: now}); err != nil {
		return fmt.Errorf("queue %s mail: %w", m.Kind, err)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

func (o *Outbox) seal(id string, m Message) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return o.sealer.Seal("mail:"+id, b)
}

// Open unseals a row's message.
func Open(sealer *keys.Sealer, r Row) (Message, error) {
	b, err := sealer.Open("mail:"+r.ID, r.Body)
	if err != nil {
		return Message{}, fmt.Errorf("unseal mail %s: %w", r.ID, err)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("decode mail %s: %w", r.ID, err)
	}
	return m, nil
}

func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%time.Hour == 0 && d >= time.Hour:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	default:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
}

func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
