package authority

import "context"

// ClientSecretStore replaces a client's secret.
type ClientSecretStore interface {
	// SetClientSecret stores secretHash as the client's secret hash;
	// ErrNotFound for no such client.
	SetClientSecret(ctx context.Context, id, secretHash string) error
}

// RotateClientSecret gives the client a new secret (256 random bits),
// returned this once and stored only hashed. The old secret stops working
// at once; tokens already issued stay valid until they expire. The change
// is audited with the administrator who made it. ErrNotFound for no such
// client; a ValidationError for a public client, which has no secret.
func (s *Service) RotateClientSecret(ctx context.Context, id string, meta Meta) (string, error) {
	if !PlainID(id) {
		return "", ErrNotFound
	}
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Public {
		return "", invalid("public", "a public client has no secret to rotate")
	}
	secret := newSecret()
	if err := s.store.SetClientSecret(ctx, id, HashToken(secret)); err != nil {
		return "", err
	}
	s.audit(ctx, Event{Type: EventClientSecretRotated, Actor: meta.Actor, IP: meta.IP, Detail: "client " + id})
	return secret, nil
}
