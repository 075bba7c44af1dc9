package authority

import (
	"context"
	"strings"
	"sync"
	"time"
)

// checkTiming makes a failed password check take alike whatever hash the
// account has, or whether there is an account at all. Imported bcrypt
// hashes and hashes under older argon2id parameters cost a different time
// to check than the current parameters (which the dummy hash of an
// unknown email uses), so a login that failed fast or slow would tell
// which emails have an account, and of which kind. It learns how long a
// check of each hash class (kind and cost) takes on this machine, and
// pads every failed check, after its hashing slot is given back, to the
// slowest class seen: the work is the stored hash's own, the waiting
// costs no CPU.
type checkTiming struct {
	mu   sync.Mutex
	took map[string]time.Duration // smoothed duration of a check, by class
}

// maxCheckPad bounds the padding, so a stall measured once cannot make
// every failed login wait long.
const maxCheckPad = 2 * time.Second

// hashClass names the kind and cost of a stored hash: "$2b$10" for bcrypt
// at cost 10, "argon2id m=…,t=…,p=…" for argon2id.
func hashClass(stored string) string {
	if IsBcrypt(stored) && len(stored) >= 6 {
		return stored[:6]
	}
	parts := strings.Split(stored, "$")
	if len(parts) == 6 {
		return parts[1] + " " + parts[3]
	}
	return "unknown"
}

// observe records that a check of class took d.
func (t *checkTiming) observe(class string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.took == nil {
		t.took = map[string]time.Duration{}
	}
	prev, ok := t.took[class]
	if !ok {
		t.took[class] = d
		return
	}
	t.took[class] = prev + (d-prev)/4
}

// floor is how long a failed check should take: the slowest class's.
func (t *checkTiming) floor() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var f time.Duration
	for _, d := range t.took {
		f = max(f, d)
	}
	return min(f, maxCheckPad)
}

// timedVerify checks password against stored (in reused hashing memory),
// timing the check under the stored hash's class.
func (s *Service) timedVerify(stored, password string) (ok, rehash bool, took time.Duration, err error) {
	start := time.Now()
	ok, rehash, err = s.verifyHash(stored, password)
	took = time.Since(start)
	if err == nil {
		s.timing.observe(hashClass(stored), took)
	}
	return ok, rehash, took, err
}

// pad waits until a failed check that took took has taken as long as the
// slowest class, or ctx ends.
func (t *checkTiming) pad(ctx context.Context, took time.Duration) {
	d := t.floor() - took
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
