package mail

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestParseSMTPURL(t *testing.T) {
	cases := []struct {
		in       string
		want     SMTPConfig
		wantErr  bool
		noSecret string
	}{
		{in: "smtp://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 587, RequireTLS: true}},
		{in: "smtp://u:p%40ss@mail.example.com:2525", want: SMTPConfig{Host: "mail.example.com", Port: 2525, RequireTLS: true, Username: "u", Password: "p@ss"}},
		{in: "smtp://127.0.0.1:1025", want: SMTPConfig{Host: "127.0.0.1", Port: 1025}},
		{in: "smtp://localhost:1025", want: SMTPConfig{Host: "localhost", Port: 1025}},
		{in: "smtp://[::1]:1025", want: SMTPConfig{Host: "::1", Port: 1025}},
		{in: "smtps://u:secret@mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 465, Implicit: true, Username: "u", Password: "secret"}},
		{in: "http://mail.example.com", wantErr: true},
		{in: "smtp://", wantErr: true},
		{in: "smtp://u:secret@mail.example.com:99999", wantErr: true, noSecret: "secret"},
		{in: "smtp://u:secret@mail.example.com/path", wantErr: true, noSecret: "secret"},
		{in: "smtp://u:secret@%zz", wantErr: true, noSecret: "secret"},
	}
	for _, c := range cases {
		got, err := ParseSMTPURL(c.in)
		if c.wantErr {
			if err == nil {
				t.Errorf("%s: no error", c.in)
			} else if c.noSecret != "" && strings.Contains(err.Error(), c.noSecret) {
				t.Errorf("%s: error %q shows the password", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if strings.Contains(got.String(), "secret") || strings.Contains(got.String(), "p@ss") {
			t.Errorf("%s: String() shows the password: %s", c.in, got)
		}
	}
}

func TestTemplatesRenderEveryKindWithLink(t *testing.T) {
	tpl, err := LoadTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	link := "https://id.example.com/reset-password?token=abc<>&x"
	for _, k := range Kinds {
		m, err := tpl.Render(k, "ada@example.com", Data{Product: "Sigil", Name: "Ada", Email: "ada@example.com", Link: link, Expires: "30 minutes"})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if m.Subject == "" || !strings.Contains(m.Subject, "Sigil") || strings.Contains(m.Text, "Subject:") {
			t.Errorf("%s: subject %q", k, m.Subject)
		}
		if !strings.Contains(m.HTML, "Sigil") || !strings.Contains(m.HTML, "Ada") {
			t.Errorf("%s: html %q", k, m.HTML)
		}
		if strings.Contains(m.HTML, "<>") {
			t.Errorf("%s: the HTML part does not escape the link", k)
		}
	}
}

func TestTemplatesOverride(t *testing.T) {
	over := fstest.MapFS{"reset-password.txt": {Data: []byte("Subject: Acme reset\nGo to {{.Link}}\n")}}
	tpl, err := LoadTemplates(over)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tpl.Render("reset-password", "a@example.com", Data{Link: "https://x/?token=t"})
	if err != nil || m.Subject != "Acme reset" || m.Text != "Go to https://x/?token=t\n" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := LoadTemplates(fstest.MapFS{"verify-email.txt": {Data: []byte("no subject line")}}); err == nil {
		t.Fatal("a template without a subject line was accepted")
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	s := NewSender(SenderConfig{Backoff: time.Second, MaxBackoff: 10 * time.Second}, nil, nil, nil, nil)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := s.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}
