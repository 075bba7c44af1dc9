package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// runClients is `sigil clients create|list|delete`.
func runClients(ctx context.Context, e env) error {
	sub := ""
	if len(e.args) > 0 {
		sub, e.args = e.args[0], e.args[1:]
	}
	var name, scopes, audience string
	var ttl time.Duration
	var redirects, postLogout, grants listFlag
	var public, firstParty, pkceOptional bool
	fs, load := newFlagsWith(e, "clients "+sub, "clients create --name N [--audience A] [--scopes \"a b\"] [--token-ttl D] [--redirect-uri URL]... [--post-logout-redirect-uri URL]... [--grant-type G]... [--public] [--first-party] [--pkce-optional] | list | delete ID", func(fs *flag.FlagSet) {
		if sub != "create" {
			return
		}
		fs.StringVar(&name, "name", "", "name of the client (required)")
		fs.StringVar(&scopes, "scopes", "", "space-separated scopes the client may request")
		// Here --audience is the client's; SIGIL_AUDIENCE still sets the
		// default audience of login tokens.
		fs.StringVar(&audience, "audience", "", "aud of the client's access tokens (default SIGIL_AUDIENCE)")
		fs.DurationVar(&ttl, "token-ttl", 0, "lifetime of the client's access tokens, at most SIGIL_ACCESS_TOKEN_TTL (default SIGIL_ACCESS_TOKEN_TTL)")
		fs.Var(&redirects, "redirect-uri", "redirect URI of the authorization code flow, matched exactly (repeatable)")
		fs.Var(&postLogout, "post-logout-redirect-uri", "where RP-initiated logout may send the browser back to (repeatable)")
		fs.Var(&grants, "grant-type", "authorization_code, refresh_token, client_credentials or urn:ietf:params:oauth:grant-type:device_code (repeatable; default client_credentials, or authorization_code and refresh_token with redirect URIs)")
		fs.BoolVar(&public, "public", false, "a public client: no secret, PKCE required (SPAs, mobile and desktop apps)")
		fs.BoolVar(&firstParty, "first-party", false, "a first-party client: users are never asked for consent")
		fs.BoolVar(&pkceOptional, "pkce-optional", false, "a confidential client that may leave PKCE out of its authorization requests (default: PKCE required, OAuth 2.1)")
	})
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	a, err := openVerb(ctx, e, fs, load, "clients", sub, []verb{{"create", ""}, {"list", ""}, {"delete", "ID"}})
	if err != nil {
		return err
	}
	defer a.Close()
	meta := authority.Meta{Actor: "cli"}
	switch sub {
	case "create":
		c, secret, err := a.auth.CreateClient(ctx, authority.NewClient{Name: name, Scopes: strings.Fields(scopes), Audience: audience, TokenTTL: ttl,
			RedirectURIs: redirects, PostLogoutRedirectURIs: postLogout, GrantTypes: grants, Public: public, FirstParty: firstParty, PKCEOptional: pkceOptional}, meta)
		if err != nil {
			var ve *authority.ValidationError
			if errors.As(err, &ve) {
				return fmt.Errorf("clients create: --%s %s", cliFlag(ve.Field), ve.Reason)
			}
			return fmt.Errorf("clients create: %w", err)
		}
		if c.Public {
			fmt.Fprintf(e.stdout, "client_id:     %s\n", c.ID)
			fmt.Fprintln(e.stderr, "A public client has no secret: it authenticates with its client_id and PKCE.")
			break
		}
		fmt.Fprintf(e.stdout, "client_id:     %s\nclient_secret: %s\n", c.ID, secret)
		fmt.Fprintln(e.stderr, "The secret is shown only this once; Sigil keeps only its hash.")
	case "list":
		cs, err := a.auth.Clients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tGRANTS\tSCOPES\tAUDIENCE\tTOKEN TTL\tREDIRECT URIS\tCREATED")
		for _, c := range cs {
			t := a.cfg.AccessTTL
			if c.TokenTTL > 0 && c.TokenTTL < t {
				t = c.TokenTTL
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, clientKind(c), strings.Join(c.GrantTypes, ","),
				orDash(strings.Join(c.Scopes, " ")), c.Audience, t, orDash(strings.Join(c.RedirectURIs, " ")), stamp(c.CreatedAt))
		}
		return tw.Flush()
	case "delete":
		err := a.auth.DeleteClient(ctx, fs.Arg(0), meta)
		if errors.Is(err, authority.ErrNotFound) {
			return fmt.Errorf("no client with id %q", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted client %s\n", fs.Arg(0))
	}
	return nil
}

func cliFlag(field string) string {
	switch field {
	case "tokenTtl":
		return "token-ttl"
	case "redirectUris":
		return "redirect-uri"
	case "postLogoutRedirectUris":
		return "post-logout-redirect-uri"
	case "grantTypes":
		return "grant-type"
	case "firstParty":
		return "first-party"
	case "pkceOptional":
		return "pkce-optional"
	}
	return field
}

func clientKind(c authority.Client) string {
	kind := "confidential"
	if c.Public {
		kind = "public"
	}
	if c.FirstParty {
		kind += ",first-party"
	}
	if c.PKCEOptional {
		kind += ",pkce-optional"
	}
	return kind
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runUsersImport is `sigil users import FILE`: JSON lines
// {"email","passwordHash","name"} with bcrypt hashes, imported all or
// nothing ("-" reads standard input).
func runUsersImport(ctx context.Context, e env) error {
	fs, load := newFlags(e, "users import", "users import FILE   (JSON lines {\"email\",\"passwordHash\",\"name\"}; - for standard input)")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("usage: sigil users import FILE")
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	in := e.stdin
	if path := fs.Arg(0); path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("users import: %w", err)
		}
		defer f.Close()
		in = f
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, e.stderr), false)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.auth.Import(ctx, in, authority.Meta{Actor: "cli"})
	var ie *authority.ImportError
	if errors.As(err, &ie) {
		for _, l := range ie.Lines {
			fmt.Fprintf(e.stderr, "%s: %s\n", fs.Arg(0), l.Error())
		}
		return fmt.Errorf("users import: %w", err)
	}
	if err != nil {
		return fmt.Errorf("users import: %w", err)
	}
	fmt.Fprintf(e.stdout, "imported %d user(s); each is re-hashed with argon2id at their first login\n", n)
	return nil
}
