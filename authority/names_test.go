package authority

import (
	"context"
	"testing"

	"github.com/sigil-auth/sigil/keys"
)

// directoryStore knows two users and one client.
type directoryStore struct {
	Store
	asked [][]string
}

func (d *directoryStore) UserEmails(_ context.Context, ids []string) (map[string]string, error) {
	d.asked = append(d.asked, ids)
	out := map[string]string{}
	for _, id := range ids {
		if email, ok := map[string]string{"u1": "ada@example.com", "u2": "bo@example.com"}[id]; ok {
			out[id] = email
		}
	}
	return out, nil
}

func (d *directoryStore) ListClients(context.Context) ([]Client, error) {
	return []Client{{ID: "c1", Name: "Billing worker"}, {ID: "c2", Name: "Not in the page"}}, nil
}

// The audit log's ids are named in one lookup: users by email, clients by
// name; deleted users and actors that are not ids stay unnamed.
func TestEventNamesResolveUsersAndClientsAtOnce(t *testing.T) {
	st := &directoryStore{}
	s := newTestService(t, st, keys.EdDSA, nil)
	names, err := s.EventNames(context.Background(), []Event{
		{Type: EventLoginSuccess, Actor: "u1", UserID: "u1"},
		{Type: EventTokenRevoke, Actor: "c1", UserID: "u2"},
		{Type: EventUserDeleted, Actor: "u1", UserID: "gone"},
		{Type: EventUserSignup, Actor: "bootstrap", UserID: "u2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"u1": "ada@example.com", "u2": "bo@example.com", "c1": "Billing worker"}
	if len(names) != len(want) {
		t.Errorf("names %v, want %v", names, want)
	}
	for id, name := range want {
		if names[id] != name {
			t.Errorf("names[%s] = %q, want %q", id, names[id], name)
		}
	}
	if len(st.asked) != 1 || len(st.asked[0]) != 5 {
		t.Errorf("user lookups %v, want one of the 5 distinct ids", st.asked)
	}
}
