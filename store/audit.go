package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
)

type auditRow struct {
	ID     int64  `db:"id"`
	At     int64  `db:"at"`
	Type   string `db:"type"`
	Actor  string `db:"actor"`
	UserID string `db:"user_id"`
	KID    string `db:"kid"`
	IP     string `db:"ip"`
	Detail string `db:"detail"`
}

func (d *DB) insertAudit(ctx context.Context, ex sqlx.ExtContext, e authority.Event) error {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	_, err := d.execHot(ctx, ex, `INSERT INTO audit_events (at, type, actor, user_id, kid, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		at.UnixMilli(), e.Type, e.Actor, e.UserID, e.KID, e.IP, e.Detail)
	return err
}

// RecordEvent appends an event to the audit log.
func (d *DB) RecordEvent(ctx context.Context, e authority.Event) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	return d.wrap(d.insertAudit(ctx, d.w, e))
}

// AuditQuery selects audit events; see authority.EventQuery.
type AuditQuery = authority.EventQuery

// ListEvents returns audit events matching q, newest first.
func (d *DB) ListEvents(ctx context.Context, q AuditQuery) ([]authority.Event, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	query := `SELECT id, at, type, actor, user_id, kid, ip, detail FROM audit_events WHERE 1=1`
	var args []any
	if q.Before > 0 {
		query += ` AND id < ?`
		args = append(args, q.Before)
	}
	if q.Type != "" {
		query += ` AND type = ?`
		args = append(args, q.Type)
	}
	if q.UserID != "" {
		query += ` AND user_id = ?`
		args = append(args, q.UserID)
	}
	if !q.From.IsZero() {
		query += ` AND at >= ?`
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		query += ` AND at < ?`
		args = append(args, q.To.UnixMilli())
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, q.Limit)
	var rows []auditRow
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(query), args...); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]authority.Event, len(rows))
	for i, r := range rows {
		out[i] = authority.Event{ID: r.ID, At: fromMS(r.At), Type: r.Type, Actor: r.Actor, UserID: r.UserID, KID: r.KID, IP: r.IP, Detail: r.Detail}
	}
	return out, nil
}
