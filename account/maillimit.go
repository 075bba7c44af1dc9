package account

import (
	"sync"
	"time"
)

// Per-address mail limits: at most mailLimitCount messages that a client
// can trigger go to one address per mailLimitWindow, whatever IPs ask, so
// nobody can flood an inbox (or the SMTP bill) through Sigil.
const (
	mailLimitCount  = 5
	mailLimitWindow = 15 * time.Minute
	mailLimitMax    = 100_000 // addresses remembered at most
)

// mailLimiter counts recent mails per address, in this instance's memory.
type mailLimiter struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

// allow records a mail to addr at now and reports whether it is within
// the limit.
func (l *mailLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil || len(l.sent) >= mailLimitMax {
		l.sent = make(map[string][]time.Time)
	}
	recent := l.sent[addr][:0]
	for _, t := range l.sent[addr] {
		if now.Sub(t) < mailLimitWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= mailLimitCount {
		l.sent[addr] = recent
		return false
	}
	l.sent[addr] = append(recent, now)
	return true
}
