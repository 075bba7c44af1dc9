package mail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// SenderConfig tunes the sender. Zero values take the defaults.
type SenderConfig struct {
	// Owner names this instance in claimed rows (random by default).
	Owner string
	// Poll is how often the outbox is read when nothing wakes the sender
	// (default 1 s).
	Poll time.Duration
	// Lease is how long a claimed row stays this instance's (default
	// 2 min, longer than one SMTP exchange may take).
	Lease time.Duration
	// MaxAttempts before a message is marked failed (default 8).
	MaxAttempts int
	// Backoff is the wait after the first failure, doubled after each
	// further one up to MaxBackoff (defaults 1 s and 5 min).
	Backoff, MaxBackoff time.Duration
	// Concurrency is how many messages are sent at once (default 4).
	Concurrency int
	// ShutdownGrace is how long sends in progress may go on after Run's
	// context ends (default 3 s); then they are cut and their messages
	// go back to the queue.
	ShutdownGrace time.Duration
}

// Sender delivers the outbox through a Transport.
type Sender struct {
	cfg       SenderConfig
	queue     Queue
	transport Transport
	sealer    *keys.Sealer
	log       *slog.Logger
	now       func() time.Time

	// OnSent and OnFailed observe deliveries (metrics, audit); either
	// may be nil. Set them before Run.
	OnSent   func(r Row)
	OnFailed func(r Row, reason string)
}

// NewSender returns a sender; call Run to start it.
func NewSender(cfg SenderConfig, queue Queue, transport Transport, sealer *keys.Sealer, log *slog.Logger) *Sender {
	if cfg.Owner == "" {
		cfg.Owner = newID()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 3 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, queue: queue, transport: transport, sealer: sealer, log: log, now: time.Now}
}

// Run sends due messages until ctx ends, polling every Poll and at once
// whenever wake fires (wake may be nil). Sends in progress when ctx ends
// get ShutdownGrace to finish; those cut then go back to the queue.
func (s *Sender) Run(ctx context.Context, wake <-chan struct{}) {
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.ShutdownGrace, cancelSends) })
	defer stop()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		s.drain(ctx, sendCtx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// drain sends batches until none is due.
func (s *Sender) drain(ctx, sendCtx context.Context) {
	for ctx.Err() == nil {
		now := s.now().UTC()
		if expired, err := s.queue.ExpireMailLeases(ctx, now); err != nil {
			s.log.Warn("mail outbox: expire leases", "err", err)
		} else {
			for _, r := range expired {
				s.failed(r, "the sender stopped during delivery; not retried, so the message is never sent twice")
			}
		}
		rows, err := s.queue.ClaimMail(ctx, s.cfg.Owner, now, now.Add(s.cfg.Lease), s.cfg.Concurrency)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("mail outbox: claim", "err", err)
			}
			return
		}
		if len(rows) == 0 {
			return
		}
		var wg sync.WaitGroup
		for _, r := range rows {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.deliver(sendCtx, r)
			}()
		}
		wg.Wait()
	}
}

// deliver sends one claimed row and records the outcome.
func (s *Sender) deliver(ctx context.Context, r Row) {
	m, err := Open(s.sealer, r)
	attempts := r.Attempts + 1
	if err != nil {
		// A body that cannot be opened never will be.
		s.log.Error("mail outbox: unreadable message", "id", r.ID, "err", err)
		if ferr := s.queue.FailMail(ctx, r.ID, s.cfg.Owner, attempts, err.Error()); ferr == nil {
			s.failed(r, err.Error())
		}
		return
	}
	err = s.transport.Send(ctx, m)
	if err != nil && ctx.Err() != nil {
		// Cut by shutdown before the server accepted it: back to the
		// queue, this attempt not counted.
		ctx = context.WithoutCancel(ctx)
		if ferr := s.queue.RetryMail(ctx, r.ID, s.cfg.Owner, r.Attempts, s.now().UTC(), "interrupted by shutdown"); ferr != nil {
			s.log.Warn("mail outbox: interrupted message not requeued", "id", r.ID, "err", ferr)
		}
		return
	}
	if err == nil {
		switch ferr := s.queue.FinishMail(ctx, r.ID, s.cfg.Owner, s.now().UTC()); {
		case errors.Is(ferr, authority.ErrNotFound):
			// Its account was deleted while it was being sent, and the
			// row with it.
			s.log.Info("mail outbox: sent; its row was deleted meanwhile", "id", r.ID)
		case ferr != nil:
			s.log.Warn("mail outbox: sent but not marked", "id", r.ID, "err", ferr)
		}
		if s.OnSent != nil {
			s.OnSent(r)
		}
		return
	}
	if attempts >= s.cfg.MaxAttempts {
		s.log.Error("mail outbox: giving up", "id", r.ID, "kind", r.Kind, "attempts", attempts, "err", err)
		if ferr := s.queue.FailMail(ctx, r.ID, s.cfg.Owner, attempts, err.Error()); ferr == nil {
			s.failed(r, err.Error())
		}
		return
	}
	wait := s.backoff(attempts)
	s.log.Warn("mail outbox: send failed; will retry", "id", r.ID, "kind", r.Kind, "attempt", attempts, "retry_in", wait, "err", err)
	if ferr := s.queue.RetryMail(ctx, r.ID, s.cfg.Owner, attempts, s.now().UTC().Add(wait), err.Error()); ferr != nil {
		s.log.Warn("mail outbox: retry not recorded", "id", r.ID, "err", ferr)
	}
}

// backoff is the wait after the n-th failed attempt: Backoff doubled n-1
// times, at most MaxBackoff.
func (s *Sender) backoff(n int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

func (s *Sender) failed(r Row, reason string) {
	if s.OnFailed != nil {
		s.OnFailed(r, reason)
	}
}
