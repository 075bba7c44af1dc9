package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

type deviceRow struct {
	ID             string        `db:"id"`
	DeviceCodeHash string        `db:"device_code_hash"`
	UserCodeHash   string        `db:"user_code_hash"`
	ClientID       string        `db:"client_id"`
	Scope          string        `db:"scope"`
	Resource       string        `db:"resource"`
	CreatedAt      int64         `db:"created_at"`
	ExpiresAt      int64         `db:"expires_at"`
	Status         string        `db:"status"`
	UserID         string        `db:"user_id"`
	SessionID      string        `db:"session_id"`
	AuthTime       int64         `db:"auth_time"`
	AMR            string        `db:"amr"`
	DecidedAt      sql.NullInt64 `db:"decided_at"`
	UsedAt         sql.NullInt64 `db:"used_at"`
}

const deviceColumns = `id, device_code_hash, user_code_hash, client_id, scope, resource, created_at, expires_at, status, user_id, session_id, auth_time, amr, decided_at, used_at`

func (r deviceRow) device() oidc.DeviceAuthorization {
	d := oidc.DeviceAuthorization{ID: r.ID, DeviceCodeHash: r.DeviceCodeHash, UserCodeHash: r.UserCodeHash, ClientID: r.ClientID,
		Scope: r.Scope, Resource: r.Resource, CreatedAt: fromMS(r.CreatedAt), ExpiresAt: fromMS(r.ExpiresAt), Status: r.Status,
		UserID: r.UserID, SessionID: r.SessionID, AMR: strings.Fields(r.AMR), DecidedAt: fromNullMS(r.DecidedAt), UsedAt: fromNullMS(r.UsedAt)}
	if r.AuthTime != 0 {
		d.AuthTime = fromMS(r.AuthTime)
	}
	return d
}

// CreateDeviceAuthorization stores a device authorization (its codes'
// hashes only); authority.ErrConflict when its user code hash is taken.
func (d *DB) CreateDeviceAuthorization(ctx context.Context, a oidc.DeviceAuthorization) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO device_authorizations (`+deviceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, a.DeviceCodeHash, a.UserCodeHash, a.ClientID, a.Scope, a.Resource, ms(a.CreatedAt), ms(a.ExpiresAt), a.Status,
		a.UserID, a.SessionID, 0, strings.Join(a.AMR, " "), nullMS(a.DecidedAt), nullMS(a.UsedAt))
	if err != nil && isUniqueViolation(err) {
		return authority.ErrConflict
	}
	return d.wrap(err)
}

func (d *DB) deviceBy(ctx context.Context, column, value string) (oidc.DeviceAuthorization, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r deviceRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT `+deviceColumns+` FROM device_authorizations WHERE `+column+` = ?`), value)
	if errors.Is(err, sql.ErrNoRows) {
		return oidc.DeviceAuthorization{}, authority.ErrNotFound
	}
	if err != nil {
		return oidc.DeviceAuthorization{}, d.wrap(err)
	}
	return r.device(), nil
}

// DeviceAuthorizationByUserCode returns the authorization of a user code
// hash, or authority.ErrNotFound.
func (d *DB) DeviceAuthorizationByUserCode(ctx context.Context, userCodeHash string) (oidc.DeviceAuthorization, error) {
	return d.deviceBy(ctx, "user_code_hash", userCodeHash)
}

// DeviceAuthorizationByDeviceCode returns the authorization of a device
// code hash, or authority.ErrNotFound: one read by a unique index, the
// whole cost of a poll.
func (d *DB) DeviceAuthorizationByDeviceCode(ctx context.Context, deviceCodeHash string) (oidc.DeviceAuthorization, error) {
	return d.deviceBy(ctx, "device_code_hash", deviceCodeHash)
}

// DeviceAuthorizationByID returns the authorization id, or
// authority.ErrNotFound.
func (d *DB) DeviceAuthorizationByID(ctx context.Context, id string) (oidc.DeviceAuthorization, error) {
	return d.deviceBy(ctx, "id", id)
}

// DecideDeviceAuthorization records the decision of a pending, unexpired
// authorization as one compare-and-swap; authority.ErrConflict when it is
// decided already, expired or unknown.
func (d *DB) DecideDeviceAuthorization(ctx context.Context, id string, dec oidc.DeviceDecision) error {
	// Pending codes read before now are read again: at once here, on
	// other instances when the trigger's notification comes.
	defer d.devices.bump()
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE device_authorizations SET status = ?, user_id = ?, session_id = ?, auth_time = ?, amr = ?, decided_at = ?
		WHERE id = ? AND status = 'pending' AND expires_at > ?`),
		dec.Status, dec.UserID, dec.SessionID, ms(dec.AuthTime), strings.Join(dec.AMR, " "), ms(dec.At), id, ms(dec.At))
	return d.changedOne(res, err)
}

// RedeemDeviceAuthorization marks an approved, unused authorization used
// at at, as one compare-and-swap: of two concurrent polls exactly one
// gets the tokens.
func (d *DB) RedeemDeviceAuthorization(ctx context.Context, deviceCodeHash string, at time.Time) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE device_authorizations SET used_at = ?
		WHERE device_code_hash = ? AND status = 'approved' AND used_at IS NULL`), ms(at), deviceCodeHash)
	return d.changedOne(res, err)
}

// changedOne turns the result of a compare-and-swap into nil (one row)
// or authority.ErrConflict (none).
func (d *DB) changedOne(res sql.Result, err error) error {
	if err != nil {
		return d.wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d.wrap(err)
	}
	if n == 0 {
		return authority.ErrConflict
	}
	return nil
}
