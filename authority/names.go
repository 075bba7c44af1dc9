package authority

import "context"

// MaxNamedIDs bounds how many ids one EventNames call resolves (an audit
// page holds at most 500 events, each with an actor and a user).
const MaxNamedIDs = 1000

// EmailDirectory resolves user ids to emails.
type EmailDirectory interface {
	// UserEmails returns the emails of the users among ids, by id, in
	// one query; ids of no user are left out.
	UserEmails(ctx context.Context, ids []string) (map[string]string, error)
}

// EventNames names the actors and users of events for people reading the
// audit log: a user id becomes the user's email and a client id the
// client's name. Ids of deleted users and clients, and actors that are no
// id ("bootstrap"), are left out, so a page shows them as they are.
func (s *Service) EventNames(ctx context.Context, events []Event) (map[string]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, e := range events {
		for _, id := range []string{e.Actor, e.UserID} {
			if id != "" && !seen[id] && len(ids) < MaxNamedIDs {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	names := map[string]string{}
	if len(ids) == 0 {
		return names, nil
	}
	emails, err := s.store.UserEmails(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, email := range emails {
		names[id] = email
	}
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range clients {
		if seen[c.ID] && names[c.ID] == "" {
			names[c.ID] = c.Name
		}
	}
	return names, nil
}
