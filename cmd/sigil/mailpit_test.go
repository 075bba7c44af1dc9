package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// mailpit is a real SMTP server (github.com/axllent/mailpit) run as a
// process on loopback ports; its HTTP API shows what it received.
type mailpit struct {
	SMTPAddr string
	APIBase  string
	cmd      *exec.Cmd
	dir      string
}

var (
	sharedMailpitOnce sync.Once
	sharedMailpit     *mailpit
	sharedMailpitErr  error
)

// mailpitBinary finds the mailpit binary: $SIGIL_TEST_MAILPIT, the
// repository's bin/mailpit (`make mailpit`), or the PATH.
func mailpitBinary() string {
	if p := os.Getenv("SIGIL_TEST_MAILPIT"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../../bin/mailpit"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	return ""
}

// useMailpit returns the package's shared Mailpit, starting it on first
// use. Without a binary the test is skipped, except in CI (CI=true),
// where it fails: `make test` builds one.
func useMailpit(t testing.TB) *mailpit {
	t.Helper()
	sharedMailpitOnce.Do(func() { sharedMailpit, sharedMailpitErr = startMailpit(mailpitBinary()) })
	if sharedMailpitErr != nil {
		if os.Getenv("CI") == "" && mailpitBinary() == "" {
			t.Skipf("mailpit not found (run `make mailpit`): %v", sharedMailpitErr)
		}
		t.Fatalf("mailpit: %v", sharedMailpitErr)
	}
	return sharedMailpit
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startMailpit(bin string) (*mailpit, error) {
	if bin == "" {
		return nil, fmt.Errorf("no mailpit binary")
	}
	smtpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	return startMailpitOn(bin, smtpPort)
}

// startMailpitOn starts Mailpit with its SMTP server on smtpPort.
func startMailpitOn(bin string, smtpPort int) (*mailpit, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mailpit")
	if err != nil {
		return nil, err
	}
	m := &mailpit{SMTPAddr: fmt.Sprintf("127.0.0.1:%d", smtpPort), APIBase: fmt.Sprintf("http://127.0.0.1:%d", httpPort), dir: dir}
	m.cmd = exec.Command(bin, "--smtp", m.SMTPAddr, "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(dir, "mail.db"), "--max", "5000", "--quiet", "--disable-version-check")
	if err := m.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(m.APIBase + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", m.SMTPAddr); err == nil {
				c.Close()
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("mailpit did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *mailpit) stop() {
	if m.cmd.Process != nil {
		m.cmd.Process.Kill()
		m.cmd.Wait()
	}
	os.RemoveAll(m.dir)
}

// smtpURL is the SIGIL_SMTP_URL of this server (loopback: no TLS needed).
func (m *mailpit) smtpURL() string { return "smtp://" + m.SMTPAddr }

// mailEnv adds this server to a test server's environment.
func (m *mailpit) mailEnv(env map[string]string) map[string]string {
	env["SIGIL_SMTP_URL"] = m.smtpURL()
	env["SIGIL_MAIL_FROM"] = "Sigil <no-reply@sigil.test>"
	return env
}

type mpAddress struct {
	Address string `json:"Address"`
}

type mpSummary struct {
	ID      string      `json:"ID"`
	To      []mpAddress `json:"To"`
	Subject string      `json:"Subject"`
}

type mpMessage struct {
	mpSummary
	From mpAddress `json:"From"`
	Text string    `json:"Text"`
	HTML string    `json:"HTML"`
}

// messagesTo returns every message received for addr, oldest first.
func (m *mailpit) messagesTo(t testing.TB, addr string) []mpMessage {
	t.Helper()
	resp, err := http.Get(m.APIBase + "/api/v1/search?limit=500&query=" + url.QueryEscape("to:\""+addr+"\""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Messages []mpSummary `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var out []mpMessage
	for i := len(list.Messages) - 1; i >= 0; i-- { // newest first in the API
		s := list.Messages[i]
		if len(s.To) != 1 || !strings.EqualFold(s.To[0].Address, addr) {
			continue
		}
		r, err := http.Get(m.APIBase + "/api/v1/message/" + s.ID)
		if err != nil {
			t.Fatal(err)
		}
		var msg mpMessage
		err = json.NewDecoder(r.Body).Decode(&msg)
		r.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

// waitMail waits until addr has received n messages and returns them.
func (m *mailpit) waitMail(t testing.TB, addr string, n int, within time.Duration) []mpMessage {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs := m.messagesTo(t, addr)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d message(s), want %d", addr, len(msgs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSubject waits for a message to addr whose subject contains sub and
// returns the newest such.
func (m *mailpit) waitSubject(t testing.TB, addr, sub string) mpMessage {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs := m.messagesTo(t, addr)
		for i := len(msgs) - 1; i >= 0; i-- {
			if strings.Contains(msgs[i].Subject, sub) {
				return msgs[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message to %s with subject containing %q (got %d)", addr, sub, len(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+\?token=[A-Za-z0-9_%-]+`)

// mailLink returns the link with a token in a message's text part, after
// checking that the HTML part carries the same.
func mailLink(t testing.TB, msg mpMessage) (link, token string) {
	t.Helper()
	link = linkRE.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no link in %q", msg.Text)
	}
	if !strings.Contains(msg.HTML, link) {
		t.Fatalf("the HTML part lacks the link %s", link)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return link, u.Query().Get("token")
}
