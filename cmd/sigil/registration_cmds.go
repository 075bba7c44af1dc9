package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// runRegistrationTokens is `sigil registration-tokens create|list|delete`:
// the initial access tokens with which clients register themselves while
// SIGIL_REGISTRATION=token.
func runRegistrationTokens(ctx context.Context, e env) error {
	sub := ""
	if len(e.args) > 0 {
		sub, e.args = e.args[0], e.args[1:]
	}
	var expiresIn time.Duration
	var uses int
	fs, load := newFlagsWith(e, "registration-tokens "+sub, "registration-tokens create [--expires-in 24h] [--uses 1] | list | delete ID", func(fs *flag.FlagSet) {
		if sub != "create" {
			return
		}
		fs.DurationVar(&expiresIn, "expires-in", oidc.DefaultRegistrationTokenTTL, "how long the token may be used (1m to 2160h)")
		fs.IntVar(&uses, "uses", 1, "how many clients may register with it (1 to 1000)")
	})
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	a, err := openVerb(ctx, e, fs, load, "registration-tokens", sub, []verb{{"create", ""}, {"list", ""}, {"delete", "ID"}})
	if err != nil {
		return err
	}
	defer a.Close()
	flow, err := oidc.New(a.auth, a.factors, a.db, a.keys.Ring(), a.sealer)
	if err != nil {
		return err
	}
	meta := authority.Meta{Actor: "cli"}
	switch sub {
	case "create":
		t, token, err := flow.CreateRegistrationToken(ctx, expiresIn, uses, meta)
		var ve *authority.ValidationError
		switch {
		case errors.As(err, &ve) && ve.Field == "expiresIn":
			return fmt.Errorf("registration-tokens create: --expires-in %s", ve.Reason)
		case errors.As(err, &ve):
			return fmt.Errorf("registration-tokens create: --%s %s", ve.Field, ve.Reason)
		case err != nil:
			return fmt.Errorf("registration-tokens create: %w", err)
		}
		fmt.Fprintf(e.stdout, "id:      %s\ntoken:   %s\nexpires: %s\nuses:    %d\n(the token is shown only now)\n",
			t.ID, token, stamp(t.ExpiresAt), t.Uses)
	case "list":
		ts, err := flow.RegistrationTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSES LEFT\tEXPIRES\tCREATED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\n", t.ID, t.UsesLeft, t.Uses, stamp(t.ExpiresAt), stamp(t.CreatedAt))
		}
		return tw.Flush()
	case "delete":
		err := flow.DeleteRegistrationToken(ctx, fs.Arg(0), meta)
		if errors.Is(err, authority.ErrNotFound) {
			return fmt.Errorf("no registration token with id %q", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted registration token %s\n", fs.Arg(0))
	}
	return nil
}
