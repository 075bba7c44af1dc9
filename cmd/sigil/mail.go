package main

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sigil-auth/sigil/api"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mail"
)

// startMail wires the outbox as the authority's mailer and starts the
// sender, owned by wg, until ctx ends. Without SIGIL_SMTP_URL the sender
// writes each message to the log.
func startMail(ctx context.Context, a *app, metrics *api.Metrics, log *slog.Logger, wg *sync.WaitGroup) error {
	// SIGIL_TEMPLATE_DIR/mail/ may replace any mail template by name.
	var override fs.FS
	if a.cfg.TemplateDir != "" {
		override = os.DirFS(filepath.Join(a.cfg.TemplateDir, "mail"))
	}
	tpl, err := mail.LoadTemplates(override)
	if err != nil {
		return err
	}
	outbox := mail.NewOutbox(a.db, a.sealer, tpl, "Sigil", nil)
	a.auth.SetMailer(outbox)

	var transport mail.Transport = mail.LogTransport{Log: log}
	if a.cfg.SMTP != nil {
		transport = mail.NewSMTP(*a.cfg.SMTP, a.cfg.MailFrom)
		log.Info("mail goes through SMTP", "server", a.cfg.SMTP.String())
	} else {
		log.Info("no SIGIL_SMTP_URL: mail is written to the log")
	}
	sender := mail.NewSender(mail.SenderConfig{MaxAttempts: a.cfg.MailMaxAttempts, Backoff: a.cfg.MailRetryBackoff}, a.db, transport, a.sealer, log)
	sent, failed := metrics.MailCounters()
	sender.OnSent = func(r mail.Row) { sent.WithLabelValues(r.Kind).Inc() }
	sender.OnFailed = func(r mail.Row, reason string) {
		failed.WithLabelValues(r.Kind).Inc()
		e := authority.Event{At: time.Now().UTC(), Type: authority.EventMailFailed, Actor: "system", UserID: r.UserID,
			Detail: "message " + r.ID + " (" + r.Kind + ") not delivered: " + reason}
		if err := a.db.RecordEvent(context.WithoutCancel(ctx), e); err != nil {
			log.Warn("audit event not recorded", "type", e.Type, "err", err)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		sender.Run(ctx, outbox.Wake())
	}()
	return nil
}
