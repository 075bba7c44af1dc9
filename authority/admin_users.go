package authority

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Limits of user listings.
const (
	DefaultUserPage = 50
	MaxUserPage     = 200
)

// ListUsers returns one page of users, by email, whose email contains
// query (case-insensitive) when it is not empty.
func (s *Service) ListUsers(ctx context.Context, query, cursor string, limit int) (UserPage, error) {
	switch {
	case limit == 0:
		limit = DefaultUserPage
	case limit < 0 || limit > MaxUserPage:
		return UserPage{}, invalid("limit", fmt.Sprintf("must be between 1 and %d", MaxUserPage))
	}
	if len(query) > MaxEmailBytes || len(cursor) > MaxEmailBytes {
		return UserPage{}, invalid("email", "is too long")
	}
	return s.store.ListUsers(ctx, strings.ToLower(strings.TrimSpace(query)), cursor, limit)
}

// SetLocked locks (ending every session) or unlocks an account.
func (s *Service) SetLocked(ctx context.Context, id string, locked bool, meta Meta) error {
	now := s.now().UTC()
	if err := s.store.SetLocked(ctx, id, locked, now); err != nil {
		return err
	}
	typ := EventUserUnlocked
	if locked {
		typ = EventUserLocked
		if _, err := s.endUserSessions(ctx, id, "", now); err != nil {
			return err
		}
	}
	s.audit(ctx, Event{Type: typ, Actor: meta.Actor, UserID: id, IP: meta.IP})
	return nil
}

var roleRE = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// SetRoles replaces the user's roles ("admin" among them or not). They
// show in access tokens issued from now on. Access tokens carry the roles
// of their issue, so removing any role ends every session of the user and
// denies every access token it holds: none keeps a role it lost. Adding
// roles ends nothing; they show from the next token on.
func (s *Service) SetRoles(ctx context.Context, id string, roles []string, meta Meta) error {
	if len(roles) > 32 {
		return invalid("roles", "must list at most 32 roles")
	}
	admin := false
	seen := map[string]bool{}
	var extra []string
	for _, r := range roles {
		if !roleRE.MatchString(r) {
			return invalid("roles", "must be lower-case names of letters, digits and _ . : - (at most 64)")
		}
		if seen[r] {
			continue
		}
		seen[r] = true
		if r == "admin" {
			admin = true
			continue
		}
		extra = append(extra, r)
	}
	sort.Strings(extra)
	before, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.store.SetRoles(ctx, id, admin, extra, now); err != nil {
		return err
	}
	after := append(boolRole(admin), extra...)
	for _, r := range before.Roles() {
		if !slices.Contains(after, r) {
			if _, err := s.endUserSessions(ctx, id, "", now); err != nil {
				return err
			}
			break
		}
	}
	s.audit(ctx, Event{Type: EventUserRolesSet, Actor: meta.Actor, UserID: id, IP: meta.IP, Detail: "roles: " + strings.Join(after, " ")})
	return nil
}

func boolRole(admin bool) []string {
	if admin {
		return []string{"admin"}
	}
	return nil
}

// DeleteUser removes an account on an administrator's request.
func (s *Service) DeleteUser(ctx context.Context, id string, meta Meta) error {
	return s.deleteUser(ctx, id, meta)
}

// AdminSendReset mails the user a password-reset link.
func (s *Service) AdminSendReset(ctx context.Context, id string, meta Meta) error {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	return s.SendReset(ctx, u, meta)
}
