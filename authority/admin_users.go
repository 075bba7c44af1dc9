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
		if _, err := s.EndUserSessions(ctx, id, "", now); err != nil {
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
			if _, err := s.EndUserSessions(ctx, id, "", now); err != nil {
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

// deleteUser removes the account and every row about it. The audit event
// names the user's id only, never the email.
func (s *Service) deleteUser(ctx context.Context, userID string, meta Meta) error {
	// Locked first, so that a code redeemed from now on is refused, then
	// the sessions ended so that their access tokens can be denied: the
	// rows go with the account.
	now := s.now().UTC()
	if err := s.store.SetLocked(ctx, userID, true, now); err != nil {
		return err
	}
	if _, err := s.EndUserSessions(ctx, userID, "", now); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, userID); err != nil {
		return err
	}
	s.profiles.forget(userID)
	actor := meta.Actor
	if actor == "" {
		actor = userID
	}
	s.audit(ctx, Event{Type: EventUserDeleted, Actor: actor, UserID: userID, IP: meta.IP})
	return nil
}

// AdminRevokeSessions ends every session of the user for an
// administrator, audited with the administrator as the actor;
// ErrNotFound for no such user.
func (s *Service) AdminRevokeSessions(ctx context.Context, userID string, meta Meta) error {
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return err
	}
	n, err := s.EndUserSessions(ctx, userID, "", s.now().UTC())
	if err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventSessionRevokedAll, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: fmt.Sprintf("%d session(s) revoked by an administrator", n)})
	return nil
}
