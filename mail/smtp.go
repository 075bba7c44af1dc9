package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one rendered mail.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Link is the message's single link, if any (logged by LogTransport).
	Link string `json:"link,omitempty"`
}

// Transport hands one message to whatever delivers it.
type Transport interface {
	Send(ctx context.Context, m Message) error
}

// SMTPConfig is a parsed SIGIL_SMTP_URL.
type SMTPConfig struct {
	Host     string
	Port     int
	Implicit bool // smtps://: TLS from the first byte
	// STARTTLS is required unless the host is a loopback address.
	RequireTLS bool
	Username   string
	Password   string
}

// String describes the server without its credentials.
func (c SMTPConfig) String() string {
	scheme := "smtp"
	if c.Implicit {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// ParseSMTPURL reads smtp://[user:pass@]host[:port] (STARTTLS, port 587 by
// default; required unless the host is loopback) or smtps://… (implicit
// TLS, port 465 by default). Errors never repeat the URL, which may carry
// a password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("not a URL (use smtp://user:pass@host:587 or smtps://…)")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.Implicit = 465, true
	default:
		return SMTPConfig{}, errors.New("the scheme must be smtp:// or smtps://")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return SMTPConfig{}, errors.New("a host is required")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPConfig{}, errors.New("invalid port")
		}
		c.Port = n
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return SMTPConfig{}, errors.New("no path or query is allowed")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	c.RequireTLS = !c.Implicit && !isLoopback(c.Host)
	return c, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SMTP sends through an SMTP server with go-mail, one connection per
// message.
type SMTP struct {
	cfg     SMTPConfig
	from    string
	timeout time.Duration
}

// NewSMTP returns a transport for cfg that sends as from.
func NewSMTP(cfg SMTPConfig, from string) *SMTP {
	return &SMTP{cfg: cfg, from: from, timeout: 30 * time.Second}
}

// Send delivers m. The error never carries the server's credentials.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("to address: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var closers []func() bool
	defer func() {
		for _, stop := range closers {
			stop()
		}
	}()
	// The connection is closed as soon as ctx ends, so a silent server
	// never holds a shutdown for the whole timeout.
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		closers = append(closers, context.AfterFunc(ctx, func() { c.Close() }))
		if !s.cfg.Implicit {
			return c, nil
		}
		tc := tls.Client(c, &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(dctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.timeout), gomail.WithDialContextFunc(dial)}
	switch {
	case s.cfg.Implicit:
		opts = append(opts, gomail.WithSSL())
	case s.cfg.RequireTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send to %s: %s", s.cfg, redact(err.Error(), s.cfg.Password))
	}
	return nil
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "****")
}

// LogTransport writes each message to the log at info level with its link,
// for a laptop without a mail server.
type LogTransport struct{ Log *slog.Logger }

// Send logs m.
func (l LogTransport) Send(ctx context.Context, m Message) error {
	l.Log.InfoContext(ctx, "mail (no SIGIL_SMTP_URL set, so logged instead of sent)", "to", m.To, "subject", m.Subject, "link", m.Link)
	return nil
}
