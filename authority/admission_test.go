package authority

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
)

const (
	testEmail    = "ada@example.com"
	testPassword = "correct horse battery"
)

type loginResult struct {
	pair TokenPair
	err  error
}

func startLogin(s *Service, ctx context.Context, email string) <-chan loginResult {
	ch := make(chan loginResult, 1)
	go func() {
		pair, err := s.Login(ctx, email, testPassword, Meta{})
		ch <- loginResult{pair, err}
	}()
	return ch
}

// With every hashing slot busy and no queue, logins (known and unknown
// email) and signups are refused with ErrOverloaded at once, and the slot
// serves again once it is given back.
func TestHashSlotsBusyRefusesLoginAndSignup(t *testing.T) {
	st := newMemStore()
	s := newTestService(t, st, keys.EdDSA, func(c *Config) { c.MaxConcurrentHashes = 1; c.MaxHashQueue = -1 })
	ctx := context.Background()
	if _, err := s.Signup(ctx, Signup{Email: testEmail, Password: testPassword}, Meta{}); err != nil {
		t.Fatal(err)
	}

	entered, release := st.holdLookups()
	first := startLogin(s, ctx, testEmail)
	<-entered // the first login holds the only slot

	for name, call := range map[string]func() error{
		"login":         func() error { _, err := s.Login(ctx, testEmail, testPassword, Meta{}); return err },
		"unknown email": func() error { _, err := s.Login(ctx, "nobody@example.com", testPassword, Meta{}); return err },
		"malformed":     func() error { _, err := s.Login(ctx, "not an email", testPassword, Meta{}); return err },
		"signup": func() error {
			_, err := s.Signup(ctx, Signup{Email: "bob@example.com", Password: testPassword}, Meta{})
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrOverloaded) {
			t.Errorf("%s while the slot is busy: got %v, want ErrOverloaded", name, err)
		}
	}

	release()
	if r := <-first; r.err != nil || r.pair.AccessToken == "" {
		t.Fatalf("admitted login: %+v", r)
	}
	if _, err := s.Login(ctx, testEmail, testPassword, Meta{}); err != nil {
		t.Fatalf("login after the slot was released: %v", err)
	}
	if _, err := s.Login(ctx, testEmail, "wrong password", Meta{}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password after release: %v", err)
	}
}

// A request that finds the slots busy waits in the bounded queue and is
// admitted when a slot comes free; one more than the queue holds is
// refused at once, and a waiter whose context ends is refused.
func TestHashQueueAdmitsWaitersAndRefusesTheExcess(t *testing.T) {
	st := newMemStore()
	s := newTestService(t, st, keys.EdDSA, func(c *Config) {
		c.MaxConcurrentHashes, c.MaxHashQueue, c.HashQueueWait = 1, 1, time.Hour
	})
	ctx := context.Background()
	if _, err := s.Signup(ctx, Signup{Email: testEmail, Password: testPassword}, Meta{}); err != nil {
		t.Fatal(err)
	}
	entered, release := st.holdLookups()
	first := startLogin(s, ctx, testEmail)
	<-entered

	second := startLogin(s, ctx, testEmail)
	for s.hashes.waiting() != 1 {
		select {
		case r := <-second:
			t.Fatalf("second login finished while the slot was busy: %+v", r)
		default:
		}
		time.Sleep(time.Millisecond) // polls the queue length; no timing is asserted
	}
	if _, err := s.Login(ctx, testEmail, testPassword, Meta{}); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("login beyond the queue: got %v, want ErrOverloaded", err)
	}

	release()
	for i, ch := range []<-chan loginResult{first, second} {
		if r := <-ch; r.err != nil {
			t.Fatalf("login %d: %v", i+1, r.err)
		}
	}

	entered, release = st.holdLookups()
	defer release()
	held := startLogin(s, ctx, testEmail)
	<-entered
	cctx, cancel := context.WithCancel(ctx)
	waiter := startLogin(s, cctx, testEmail)
	for s.hashes.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if r := <-waiter; !errors.Is(r.err, ErrOverloaded) {
		t.Fatalf("cancelled waiter: got %v, want ErrOverloaded", r.err)
	}
	release()
	if r := <-held; r.err != nil {
		t.Fatal(r.err)
	}
}

// The queue wait bounds how long a request waits for a slot.
func TestHashQueueWaitExpires(t *testing.T) {
	g := newHashGate(1, 1, 0, time.Millisecond)
	rel, err := g.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.acquire(context.Background()); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("got %v, want ErrOverloaded after the wait", err)
	}
	rel()
	rel2, err := g.acquire(context.Background())
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	rel2()
}

// A slot handed to a waiter leaves the queue at once, so the next request
// queues rather than being refused while that waiter has yet to run.
func TestHandedSlotFreesItsQueuePlace(t *testing.T) {
	g := newHashGate(1, 1, 0, time.Hour)
	ctx := context.Background()
	rel, err := g.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		rel func()
		err error
	}
	start := func() <-chan got {
		ch := make(chan got, 1)
		go func() { r, err := g.acquire(ctx); ch <- got{r, err} }()
		return ch
	}
	a := start()
	for g.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	rel() // handed to a
	if n := g.waiting(); n != 0 {
		t.Fatalf("%d waiting after the hand-over, want 0", n)
	}
	b := start()
	for g.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	ra := <-a
	if ra.err != nil {
		t.Fatal(ra.err)
	}
	ra.rel()
	rb := <-b
	if rb.err != nil {
		t.Fatalf("second waiter: %v", rb.err)
	}
	rb.rel()
}

// One client address (an IPv6 /64 counting as one) may hold at most
// MaxHashesPerClient of the hashing slots and queue: its next login is
// refused at once with a ThrottledError, while another client is still
// admitted to the slots left.
func TestOneClientCannotFillTheHashingGate(t *testing.T) {
	st := newMemStore()
	s := newTestService(t, st, keys.EdDSA, func(c *Config) {
		c.MaxConcurrentHashes, c.MaxHashQueue, c.MaxHashesPerClient, c.HashQueueWait = 3, 8, 2, time.Hour
	})
	ctx := context.Background()
	if _, err := s.Signup(ctx, Signup{Email: testEmail, Password: testPassword}, Meta{}); err != nil {
		t.Fatal(err)
	}
	entered, release := st.holdLookups()
	defer release()
	login := func(ip string) <-chan loginResult {
		ch := make(chan loginResult, 1)
		go func() {
			pair, err := s.Login(ctx, testEmail, testPassword, Meta{IP: ip})
			ch <- loginResult{pair, err}
		}()
		return ch
	}
	a1, a2 := login("2001:db8:7:7::1"), login("2001:db8:7:7::2")
	<-entered
	<-entered // both hold a slot
	_, err := s.Login(ctx, testEmail, testPassword, Meta{IP: "2001:db8:7:7::3"})
	var te *ThrottledError
	if !errors.As(err, &te) || te.Reason != "rate" {
		t.Fatalf("a third login from the same /64: %v, want a ThrottledError at once", err)
	}
	other := login("198.51.100.4")
	<-entered // another client takes the slot left
	release()
	for i, ch := range []<-chan loginResult{a1, a2, other} {
		if r := <-ch; r.err != nil {
			t.Fatalf("login %d: %v", i+1, r.err)
		}
	}
	// The client's share is free again.
	if _, err := s.Login(ctx, testEmail, testPassword, Meta{IP: "2001:db8:7:7::3"}); err != nil {
		t.Fatalf("login after the client's others finished: %v", err)
	}
}
