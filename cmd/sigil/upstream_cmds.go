package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/sigil-auth/sigil/api"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/upstream"
	"github.com/sigil-auth/sigil/upstream/githubconn"
	"github.com/sigil-auth/sigil/upstream/oidcconn"
)

// upstreamTimeout bounds every call to an upstream identity provider.
const upstreamTimeout = upstream.DefaultTimeout

// newUpstreams builds sign-in through upstream identity providers on the
// app's store, core and key-encryption key; metrics, when not nil (the
// server's, not the CLI's), counts the sign-ins and times the calls.
func newUpstreams(a *app, cfg Config, log *slog.Logger, metrics *api.Metrics) *upstream.Service {
	oidcConns, githubConns := oidcconn.New(upstreamTimeout), githubconn.New(upstreamTimeout)
	c := upstream.Config{Store: a.db, Core: a.auth, Sealer: a.sealer, Issuer: cfg.Issuer, Log: log, Now: a.auth.Now,
		Openers: map[string]upstream.Opener{upstream.TypeOIDC: oidcConns.Open, upstream.TypeGitHub: githubConns.Open}}
	if metrics != nil {
		c.Observe, c.ObserveCall = metrics.UpstreamObservers()
	}
	return upstream.New(c)
}

// runUpstreams is `sigil upstreams create|list|delete`: the identity
// providers users may sign in through.
func runUpstreams(ctx context.Context, e env) error {
	sub := ""
	if len(e.args) > 0 {
		sub, e.args = e.args[0], e.args[1:]
	}
	var in upstream.NewUpstream
	var scopes string
	fs, load := newFlagsWith(e, "upstreams "+sub, "upstreams create --id ID --name N [--type oidc|github] --issuer URL --client-id C --client-secret S [--scopes 'openid email'] [--linking none|verified-email] | list | delete ID", func(fs *flag.FlagSet) {
		if sub != "create" {
			return
		}
		fs.StringVar(&in.ID, "id", "", "the upstream's id: lower-case letters, digits and hyphens; in the callback URL and the idp claim (required)")
		fs.StringVar(&in.Name, "name", "", "the name on the sign-in page's button (required)")
		fs.StringVar(&in.Type, "type", upstream.TypeOIDC, "oidc (any OpenID Provider, by discovery) or github (an OAuth app at github.com or a GitHub Enterprise Server)")
		fs.StringVar(&in.Issuer, "issuer", "", "the OpenID Provider's issuer URL (required for oidc); for github its web address (default https://github.com)")
		fs.StringVar(&in.ClientID, "client-id", "", "Sigil's client id at the upstream (required)")
		fs.StringVar(&in.ClientSecret, "client-secret", "", "Sigil's client secret at the upstream (required; sealed at rest)")
		fs.StringVar(&scopes, "scopes", "", "scopes asked of the upstream, space-separated (default 'openid email profile' for oidc, 'read:user user:email' for github)")
		fs.StringVar(&in.Linking, "linking", upstream.LinkingNone, "none, or verified-email: link an existing account at once when both sides verified its email")
	})
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	a, err := openVerb(ctx, e, fs, load, "upstreams", sub, []verb{{"create", ""}, {"list", ""}, {"delete", "ID"}})
	if err != nil {
		return err
	}
	defer a.Close()
	ups := newUpstreams(a, a.cfg, a.log, nil)
	meta := authority.Meta{Actor: "cli"}
	switch sub {
	case "create":
		in.Scopes = strings.Fields(scopes)
		u, err := ups.Create(ctx, in, meta)
		var ve *authority.ValidationError
		switch {
		case errors.As(err, &ve):
			return fmt.Errorf("upstreams create: --%s %s", flagName(ve.Field), ve.Reason)
		case errors.Is(err, upstream.ErrUpstreamTaken):
			return fmt.Errorf("upstreams create: %s is already registered", in.ID)
		case err != nil:
			return fmt.Errorf("upstreams create: %w", err)
		}
		fmt.Fprintf(e.stdout, "id:           %s\nredirect uri: %s\n", u.ID, ups.CallbackURL(u.ID))
	case "list":
		us, err := ups.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTYPE\tNAME\tISSUER\tLINKING\tCREATED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Type, u.Name, u.Issuer, u.Linking, stamp(u.CreatedAt))
		}
		return tw.Flush()
	case "delete":
		err := ups.Delete(ctx, fs.Arg(0), meta)
		if errors.Is(err, authority.ErrNotFound) {
			return fmt.Errorf("no upstream with id %q", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted upstream %s and its linked identities\n", fs.Arg(0))
	}
	return nil
}

// flagName is the CLI flag of an API field.
func flagName(field string) string {
	switch field {
	case "clientId":
		return "client-id"
	case "clientSecret":
		return "client-secret"
	}
	return field
}
