package keys

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Snapshot is an immutable view of the key set at one moment: the published
// public keys, their JWKS document and ETag, and the signer of the active
// key. Readers never lock; a change builds a new Snapshot.
type Snapshot struct {
	active  *Signer
	keys    map[string]*jose.JSONWebKey
	records []Record
	sealed  map[string]bool // kids whose private key is still stored
	jwks    []byte
	etag    string
	version string
	builtAt time.Time
}

// Active returns the signer of the active key, or nil if there is none.
func (s *Snapshot) Active() *Signer { return s.active }

// Key returns the published public key named kid.
func (s *Snapshot) Key(kid string) (*jose.JSONWebKey, bool) {
	k, ok := s.keys[kid]
	return k, ok
}

// JWKS returns the JSON Web Key Set document and its strong ETag. The
// slice must not be modified.
func (s *Snapshot) JWKS() ([]byte, string) { return s.jwks, s.etag }

// Records returns the key records (with their sealed halves removed), newest
// first.
func (s *Snapshot) Records() []Record { return s.records }

// BuiltAt is when the snapshot was built.
func (s *Snapshot) BuiltAt() time.Time { return s.builtAt }

// NextExpiry returns the earliest moment after the snapshot was built at
// which a published retired key's retention ends, so the holder knows when
// the JWKS must change next without a write.
func (s *Snapshot) NextExpiry() (time.Time, bool) {
	var next time.Time
	for _, r := range s.records {
		if r.State == Retired && !r.ExpiresAt.IsZero() && r.ExpiresAt.After(s.builtAt) && (next.IsZero() || r.ExpiresAt.Before(next)) {
			next = r.ExpiresAt
		}
	}
	return next, !next.IsZero()
}

// planRecords returns the records with a placeholder in Sealed where a
// private key is still stored, for planning (never for unsealing).
func (s *Snapshot) planRecords() []Record {
	out := append([]Record(nil), s.records...)
	for i := range out {
		if s.sealed[out[i].KID] {
			out[i].Sealed = "present"
		}
	}
	return out
}

// Build makes a Snapshot of records at time now. It unseals the active key;
// a key that cannot be unsealed is an error naming its kid.
func Build(records []Record, sealer *Sealer, now time.Time) (*Snapshot, error) {
	return build(records, now, true, func(r Record) (*Signer, error) { return newSigner(r, sealer) })
}

// BuildPublic makes a Snapshot of records at time now that verifies with
// the published keys and signs with keep only if keep is the key the
// records say is active (else it cannot sign). It is what an instance
// serves when Build fails (an active key sealed under a key-encryption key
// it lacks): the public keys come from the database all the same, so keys
// revoked or expired since leave its JWKS and its verification at once,
// and a key that is no longer active never signs again. A record whose
// public key does not parse is left out rather than failing the set.
func BuildPublic(records []Record, now time.Time, keep *Signer) *Snapshot {
	var usable []Record
	for _, r := range records {
		if r.Published(now) {
			if _, err := ParsePublic(r); err != nil {
				continue
			}
		}
		usable = append(usable, r)
	}
	snap, _ := build(usable, now, false, func(r Record) (*Signer, error) {
		if keep != nil && keep.KID == r.KID {
			return keep, nil
		}
		return nil, nil
	})
	return snap
}

// build makes a Snapshot, getting the active key's signer from signer (nil
// for none). Strict, a record that does not parse or a second active key
// is an error; else two active keys leave the snapshot without a signer.
// Only strict builds can fail.
func build(records []Record, now time.Time, strict bool, signer func(Record) (*Signer, error)) (*Snapshot, error) {
	snap := &Snapshot{keys: map[string]*jose.JSONWebKey{}, sealed: map[string]bool{}, builtAt: now}
	sorted := append([]Record(nil), records...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].CreatedAt.Equal(sorted[j].CreatedAt) {
			return sorted[i].CreatedAt.After(sorted[j].CreatedAt)
		}
		return sorted[i].KID < sorted[j].KID
	})
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	doc.Keys = []json.RawMessage{}
	activeKID, conflict := "", false
	for i := range sorted {
		r := &sorted[i]
		if r.Published(now) {
			jwk, err := ParsePublic(*r)
			if err != nil {
				return nil, err
			}
			snap.keys[r.KID] = &jwk
			doc.Keys = append(doc.Keys, json.RawMessage(r.PublicJWK))
		}
		if r.State == Active {
			switch {
			case activeKID != "" && strict:
				return nil, fmt.Errorf("keys %s and %s are both active", activeKID, r.KID)
			case activeKID != "":
				conflict, snap.active = true, nil
			case !conflict:
				activeKID = r.KID
				s, err := signer(*r)
				if err != nil {
					return nil, err
				}
				snap.active = s
			}
		}
		snap.sealed[r.KID] = r.Sealed != ""
		r.Sealed = ""
	}
	jwks, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	sum := sha256.Sum256(jwks)
	snap.jwks = jwks
	snap.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	snap.records = sorted
	snap.version = Version(records, now)
	return snap, nil
}

// Version summarises what a snapshot of records at now would contain, so a
// reload can skip rebuilding (and unsealing) when nothing changed.
func Version(records []Record, now time.Time) string {
	parts := make([]string, 0, len(records))
	for _, r := range records {
		parts = append(parts, fmt.Sprintf("%s/%s/%t/%t", r.KID, r.State, r.Published(now), r.Sealed != ""))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Ring holds the current Snapshot. Load is a single atomic read.
type Ring struct {
	cur atomic.Pointer[Snapshot]
}

// Load returns the current snapshot, or nil before the first Store.
func (r *Ring) Load() *Snapshot { return r.cur.Load() }

// Store makes snap the current snapshot.
func (r *Ring) Store(snap *Snapshot) { r.cur.Store(snap) }
