package authority

import "context"

// CountStore counts what the authority keeps, for the operators' overview.
type CountStore interface {
	CountUsers(ctx context.Context) (int, error)
	CountClients(ctx context.Context) (int, error)
}

// Counts are the sizes an operator watches.
type Counts struct {
	Users   int
	Clients int
}

// Counts returns how many users and clients exist.
func (s *Service) Counts(ctx context.Context) (Counts, error) {
	u, err := s.store.CountUsers(ctx)
	if err != nil {
		return Counts{}, err
	}
	c, err := s.store.CountClients(ctx)
	if err != nil {
		return Counts{}, err
	}
	return Counts{Users: u, Clients: c}, nil
}
