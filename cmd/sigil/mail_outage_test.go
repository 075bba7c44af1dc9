package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// hangTimeout bounds a request that should not wait on the mail server:
// far above any normal answer, far below the SMTP timeout (30 s), so only
// a request that waits on the mail server runs into it.
const hangTimeout = 10 * time.Second

func timedPost(t *testing.T, s *server, path string, v any) int {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		st, _, _ := s.postJSON(t, path, v)
		done <- st
	}()
	select {
	case st := <-done:
		return st
	case <-time.After(hangTimeout):
		t.Fatalf("%s did not answer within %v: it waits on the mail server", path, hangTimeout)
		return 0
	}
}

// TestMailServerDownThenBack sends while nothing listens on the SMTP port:
// requests answer as usual, and the queued mail goes out once a server
// comes up on that port.
func TestMailServerDownThenBack(t *testing.T) {
	useMailpit(t) // skip or fail like the other mail tests
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(storetest.SQLiteURL(t), map[string]string{
		"SIGIL_SMTP_URL": fmt.Sprintf("smtp://127.0.0.1:%d", port), "SIGIL_MAIL_FROM": "no-reply@sigil.test"})
	s := startServer(t, env)
	email := uniqueEmail("outage")
	if st := timedPost(t, s, "/auth/signup", map[string]string{"email": email, "password": "correct horse battery"}); st != http.StatusCreated {
		t.Fatalf("signup: %d", st)
	}
	if st := timedPost(t, s, "/auth/password/forgot", map[string]string{"email": email}); st != http.StatusAccepted {
		t.Fatalf("forgot: %d", st)
	}
	time.Sleep(1500 * time.Millisecond) // a failed attempt or two
	mp, err := startMailpitOn(mailpitBinary(), port)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.stop()
	msgs := mp.waitMail(t, email, 2, 30*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
}

// TestMailServerSlow points Sigil at a server that accepts connections and
// never answers: requests still answer at once, and shutdown is not held.
func TestMailServerSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, silent
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	env := testEnv(storetest.SQLiteURL(t), map[string]string{
		"SIGIL_SMTP_URL": "smtp://" + ln.Addr().String(), "SIGIL_MAIL_FROM": "no-reply@sigil.test"})
	s := startServer(t, env)
	for i := range 3 {
		email := uniqueEmail(fmt.Sprintf("slow%d", i))
		if st := timedPost(t, s, "/auth/signup", map[string]string{"email": email, "password": "correct horse battery"}); st != http.StatusCreated {
			t.Fatalf("signup: %d", st)
		}
		if st := timedPost(t, s, "/auth/password/forgot", map[string]string{"email": email}); st != http.StatusAccepted {
			t.Fatalf("forgot: %d", st)
		}
	}
	start := time.Now()
	s.stop()
	if d := time.Since(start); d > hangTimeout {
		t.Errorf("shutdown took %v with a silent mail server", d)
	}
	// The interrupted messages are back in the queue, not lost.
	rows, err := openDB(t, env["SIGIL_DATABASE_URL"]).MailOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows in the outbox", len(rows))
	}
	for _, r := range rows {
		if r.Status != "pending" {
			t.Errorf("row %s is %s after shutdown", r.ID, r.Status)
		}
	}
}

// TestTwoInstancesSendEachMailOnce runs two instances on one Postgres
// database: every queued message reaches the SMTP server exactly once.
func TestTwoInstancesSendEachMailOnce(t *testing.T) {
	mp := useMailpit(t)
	dbURL := storetest.PostgresURL(t)
	a := startServer(t, mp.mailEnv(testEnv(dbURL, nil)))
	b := startServer(t, mp.mailEnv(testEnv(dbURL, nil)))
	const users = 30
	emails := make([]string, users)
	for i := range users {
		emails[i] = uniqueEmail(fmt.Sprintf("twice%d", i))
		s := a
		if i%2 == 1 {
			s = b
		}
		// A busy machine may shed a signup (503 + Retry-After): retry it
		// as a client would.
		for try := 0; ; try++ {
			st, _, body := s.postJSON(t, "/auth/signup", map[string]string{"email": emails[i], "password": "correct horse battery"})
			if st == http.StatusCreated {
				break
			}
			if st != http.StatusServiceUnavailable || try == 10 {
				t.Fatalf("signup: %d %s", st, body)
			}
			time.Sleep(time.Second)
		}
	}
	db := openDB(t, dbURL)
	deadline := time.Now().Add(60 * time.Second)
	owners := map[string]int{}
	for {
		rows, err := db.MailOutbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		clear(owners)
		for _, r := range rows {
			if r.Status == "sent" {
				sent++
				owners[r.ClaimedBy]++
			}
		}
		if sent == users {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages sent", sent, users)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // time for a duplicate to arrive, if any
	for _, e := range emails {
		if n := len(mp.messagesTo(t, e)); n != 1 {
			t.Errorf("%s received %d messages", e, n)
		}
	}
	t.Logf("messages sent per instance: %v", owners)
}

// refusingSMTP answers every connection with a permanent refusal, as a
// mail server that will not take Sigil's mail does.
func refusingSMTP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("554 5.3.2 not accepting mail\r\n"))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestMailThatKeepsFailingIsMarkedFailed: after the last attempt the
// message is marked failed, an audit event tells the administrator, and
// the failure metric counts it.
func TestMailThatKeepsFailingIsMarkedFailed(t *testing.T) {
	env := adminEnv(storetest.SQLiteURL(t), map[string]string{
		"SIGIL_SMTP_URL": "smtp://" + refusingSMTP(t), "SIGIL_MAIL_FROM": "no-reply@sigil.test",
		"SIGIL_MAIL_MAX_ATTEMPTS": "3", "SIGIL_MAIL_RETRY_BACKOFF": "50ms"})
	s := startServer(t, env)
	lr := s.signupLogin(t, uniqueEmail("bounce"), "correct horse battery")
	db := openDB(t, env["SIGIL_DATABASE_URL"])
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := db.MailOutbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0].Status == "failed" {
			if rows[0].Attempts != 3 || rows[0].LastError == "" {
				t.Errorf("failed row: %+v", rows[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox: %+v", rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, _, b := s.get(t, "/admin/audit?type=mail.failed", bearer(s.adminToken(t))...)
	wantStatus(t, "audit", st, b, http.StatusOK)
	if !strings.Contains(string(b), lr.UserID) || !strings.Contains(string(b), "verify-email") {
		t.Errorf("no mail.failed event for the user: %s", b)
	}
	_, _, m := s.get(t, "/metrics")
	if !strings.Contains(string(m), `sigil_mail_failed_total{kind="verify-email"} 1`) {
		t.Errorf("metric missing:\n%s", grepLines(string(m), "sigil_mail"))
	}
}

// TestWithoutSMTPMailIsLogged: with no SIGIL_SMTP_URL each message is
// written to the log at info level with its link, and the link works.
func TestWithoutSMTPMailIsLogged(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_LOG_LEVEL": "info"}))
	email := uniqueEmail("logged")
	lr := s.signupLogin(t, email, "correct horse battery")
	deadline := time.Now().Add(20 * time.Second)
	var tok string
	for tok == "" {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(line, "level=INFO") && strings.Contains(line, "to="+email) {
				if m := linkRE.FindString(line); strings.HasPrefix(m, "http://sigil.test/verify-email?token=") {
					tok = strings.TrimPrefix(m, "http://sigil.test/verify-email?token=")
				}
			}
		}
		if tok == "" && time.Now().After(deadline) {
			t.Fatalf("no logged mail with a link to %s:\n%s", email, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, _, b := s.postJSON(t, "/auth/verify-email", map[string]string{"token": tok})
	wantStatus(t, "verify with the logged link", st, b, http.StatusNoContent)
	if !s.me(t, lr.Token).EmailVerified {
		t.Error("email not verified")
	}
}
