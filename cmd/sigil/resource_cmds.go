package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// runResources is `sigil resources create|list|delete`: the resource
// servers (RFC 8707) a client may ask for a token for.
func runResources(ctx context.Context, e env) error {
	sub := ""
	if len(e.args) > 0 {
		sub, e.args = e.args[0], e.args[1:]
	}
	var uri, name string
	fs, load := newFlagsWith(e, "resources "+sub, "resources create --uri URL --name N | list | delete ID", func(fs *flag.FlagSet) {
		if sub != "create" {
			return
		}
		fs.StringVar(&uri, "uri", "", "the resource indicator: an absolute https URL (http only on loopback), the aud of its tokens (required)")
		fs.StringVar(&name, "name", "", "name of the resource server (required)")
	})
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	a, err := openVerb(ctx, e, fs, load, "resources", sub, []verb{{"create", ""}, {"list", ""}, {"delete", "ID"}})
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
		r, err := flow.CreateResource(ctx, uri, name, meta)
		var ve *authority.ValidationError
		switch {
		case errors.As(err, &ve):
			return fmt.Errorf("resources create: --%s %s", ve.Field, ve.Reason)
		case errors.Is(err, oidc.ErrResourceTaken):
			return fmt.Errorf("resources create: %s is already registered", uri)
		case err != nil:
			return fmt.Errorf("resources create: %w", err)
		}
		fmt.Fprintf(e.stdout, "id:  %s\nuri: %s\n", r.ID, r.URI)
	case "list":
		rs, err := flow.Resources(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tURI\tNAME\tCREATED")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.URI, r.Name, stamp(r.CreatedAt))
		}
		return tw.Flush()
	case "delete":
		err := flow.DeleteResource(ctx, fs.Arg(0), meta)
		if errors.Is(err, authority.ErrNotFound) {
			return fmt.Errorf("no resource with id %q", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted resource %s\n", fs.Arg(0))
	}
	return nil
}
