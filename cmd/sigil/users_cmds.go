package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/sigil-auth/sigil/authority"
)

// runUsersManage runs `sigil users list|show|lock|unlock|set-roles|delete`,
// the command-line side of /admin/users.
func runUsersManage(ctx context.Context, e env, sub string) error {
	fs, load := newFlags(e, "users "+sub, "users list [--email Q] [--limit N] | show ID | lock ID | unlock ID | set-roles ID ROLE,... | delete ID")
	query := fs.String("email", "", "list: only emails containing this")
	limit := fs.Int("limit", 0, "list: at most this many users (default all)")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	verbs := []verb{{"list", ""}, {"show", "ID"}, {"lock", "ID"}, {"unlock", "ID"}, {"delete", "ID"}}
	if sub == "set-roles" {
		if fs.NArg() != 2 {
			return fmt.Errorf("usage: sigil users set-roles ID ROLE,... (an empty string clears them)")
		}
		roles := splitRoles(fs.Arg(1))
		cfg, err := load()
		if err != nil {
			return err
		}
		a, err := openApp(ctx, cfg, newLogger(cfg, e.stderr), false)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.auth.SetRoles(ctx, fs.Arg(0), roles, authority.Meta{Actor: "cli"}); err != nil {
			return userErr(sub, fs.Arg(0), err)
		}
		fmt.Fprintf(e.stdout, "roles of %s: %s\n", fs.Arg(0), strings.Join(roles, " "))
		return nil
	}
	a, err := openVerb(ctx, e, fs, load, "users", sub, verbs)
	if err != nil {
		return err
	}
	defer a.Close()
	meta := authority.Meta{Actor: "cli"}
	id := fs.Arg(0)
	switch sub {
	case "list":
		return listUsers(ctx, e, a, *query, *limit)
	case "show":
		u, err := a.auth.UserByID(ctx, id)
		if err != nil {
			return userErr(sub, id, err)
		}
		fmt.Fprintf(e.stdout, "id:             %s\nemail:          %s\nname:           %s\nemail verified: %t\nlocked:         %t\nroles:          %s\ncreated:        %s\nupdated:        %s\n",
			u.ID, u.Email, u.Name, u.EmailVerified, u.Locked, strings.Join(u.Roles(), " "), stamp(u.CreatedAt), stamp(u.UpdatedAt))
	case "lock", "unlock":
		if err := a.auth.SetLocked(ctx, id, sub == "lock", meta); err != nil {
			return userErr(sub, id, err)
		}
		fmt.Fprintf(e.stdout, "%sed %s\n", sub, id)
	case "delete":
		if err := a.auth.DeleteUser(ctx, id, meta); err != nil {
			return userErr(sub, id, err)
		}
		fmt.Fprintf(e.stdout, "deleted %s\n", id)
	}
	return nil
}

func listUsers(ctx context.Context, e env, a *app, query string, limit int) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tVERIFIED\tLOCKED\tROLES\tCREATED")
	cursor, shown := "", 0
	for {
		n := authority.MaxUserPage
		if limit > 0 {
			n = min(n, limit-shown)
		}
		page, err := a.auth.ListUsers(ctx, query, cursor, n)
		if err != nil {
			return fmt.Errorf("users list: %w", err)
		}
		for _, u := range page.Users {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%s\t%s\n", u.ID, u.Email, u.EmailVerified, u.Locked, strings.Join(u.Roles(), ","), stamp(u.CreatedAt))
		}
		shown += len(page.Users)
		if cursor = page.Next; cursor == "" || (limit > 0 && shown >= limit) {
			break
		}
	}
	return tw.Flush()
}

func splitRoles(s string) []string {
	roles := []string{}
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, r)
		}
	}
	return roles
}

func userErr(sub, id string, err error) error {
	if errors.Is(err, authority.ErrNotFound) {
		return fmt.Errorf("users %s: no user %s", sub, id)
	}
	var ve *authority.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("users %s: %s %s", sub, ve.Field, ve.Reason)
	}
	return fmt.Errorf("users %s: %w", sub, err)
}
