package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
)

// importBatch bounds the parameters of one IN (…) query.
const importBatch = 500

// ExistingEmails returns those of emails that belong to accounts.
func (d *DB) ExistingEmails(ctx context.Context, emails []string) ([]string, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var out []string
	for start := 0; start < len(emails); start += importBatch {
		batch := emails[start:min(start+importBatch, len(emails))]
		q := `SELECT email FROM users WHERE email IN (?` + strings.Repeat(", ?", len(batch)-1) + `)`
		args := make([]any, len(batch))
		for i, e := range batch {
			args[i] = e
		}
		var found []string
		if err := d.db.SelectContext(ctx, &found, d.db.Rebind(q), args...); err != nil {
			return nil, d.wrap(err)
		}
		out = append(out, found...)
	}
	return out, nil
}

// ImportUsers inserts users in one transaction. An email already taken is
// left untouched; if there is any, the transaction is rolled back, nothing
// is written, and the taken emails are returned.
func (d *DB) ImportUsers(ctx context.Context, users []authority.User) ([]string, error) {
	var taken []string
	errTaken := authority.ErrEmailTaken
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		q := tx.Rebind(`INSERT INTO users (` + userInsertColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING`)
		for _, u := range users {
			res, err := tx.ExecContext(ctx, q, u.ID, u.Email, u.Name, u.PasswordHash, u.Admin, ms(u.CreatedAt), ms(u.UpdatedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				taken = append(taken, u.Email)
			}
		}
		if len(taken) > 0 {
			return errTaken
		}
		return nil
	})
	if errors.Is(err, errTaken) {
		return taken, nil
	}
	return nil, err
}
