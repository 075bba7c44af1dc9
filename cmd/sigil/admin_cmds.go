package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

func runMigrate(ctx context.Context, e env) error {
	fs, load := newFlags(e, "migrate", "migrate [flags]")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	a, err := openApp(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database schema at version %d\n", v)
	return nil
}

func runKeys(ctx context.Context, e env) error {
	sub := ""
	if len(e.args) > 0 {
		sub, e.args = e.args[0], e.args[1:]
	}
	fs, load := newFlags(e, "keys "+sub, "keys list | rotate [--alg A] | revoke KID | rewrap")
	alg := ""
	if sub == "rotate" {
		fs.StringVar(&alg, "alg", "", "algorithm of the new key: RS256, EdDSA or ES256 (default SIGIL_SIGNING_ALG)")
	}
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	a, err := openVerb(ctx, e, fs, load, "keys", sub, []verb{{"list", ""}, {"rotate", ""}, {"revoke", "KID"}, {"rewrap", ""}})
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "list":
		recs, err := a.db.ListKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATED\tRETIRED\tEXPIRES\tREVOKED")
		for _, r := range recs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.KID, r.Alg, r.State, stamp(r.CreatedAt), stamp(r.ActivatedAt), stamp(r.RetiredAt), stamp(r.ExpiresAt), stamp(r.RevokedAt))
		}
		return tw.Flush()
	case "rotate":
		if alg != "" {
			if _, err := keys.ParseAlg(alg); err != nil {
				return err
			}
		}
		r, err := a.keys.Rotate(ctx, keys.Alg(alg), "cli", "rotated from the command line")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "rotated: %s (%s) is now active\n", r.KID, r.Alg)
	case "revoke":
		r, err := a.keys.Revoke(ctx, fs.Arg(0), "cli", "revoked from the command line")
		if errors.Is(err, keys.ErrKeyNotFound) {
			return fmt.Errorf("no key with kid %q", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked: %s\n", r.KID)
	case "rewrap":
		n, err := a.keys.Rewrap(ctx, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "rewrapped %d key(s) under key-encryption key %s\n", n, a.sealer.PrimaryID())
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func runUsers(ctx context.Context, e env) error {
	sub := ""
	if len(e.args) > 0 {
		sub, e.args = e.args[0], e.args[1:]
	}
	switch sub {
	case "import":
		return runUsersImport(ctx, e)
	case "list", "show", "lock", "unlock", "set-roles", "delete":
		return runUsersManage(ctx, e, sub)
	case "create":
	default:
		return fmt.Errorf("unknown users command %q (create, import, list, show, lock, unlock, set-roles, delete)", sub)
	}
	fs, load := newFlags(e, "users create", "users create --email E [--name N] [--admin] [--password-stdin]")
	email := fs.String("email", "", "email of the new user (required)")
	name := fs.String("name", "", "display name")
	admin := fs.Bool("admin", false, "make the user an administrator")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("users create: --email is required")
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	password, err := readPassword(e, *fromStdin)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, e.stderr), false)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.auth.Signup(ctx, authority.Signup{Email: *email, Password: password, Name: *name, Admin: *admin}, authority.Meta{Actor: "cli"})
	if err != nil {
		var ve *authority.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("users create: %s %s", ve.Field, ve.Reason)
		}
		return fmt.Errorf("users create: %w", err)
	}
	role := "user"
	if u.Admin {
		role = "administrator"
	}
	fmt.Fprintf(e.stdout, "created %s %s (id %s)\n", role, u.Email, u.ID)
	return nil
}

// readPassword reads a password from stdin's first line, or prompts for it
// without echo when stdin is a terminal.
func readPassword(e env, fromStdin bool) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	if !fromStdin {
		return "", errors.New("users create: standard input is not a terminal; pass --password-stdin and pipe the password")
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("users create: no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// verb is one subcommand of a command group (keys, clients) and the
// argument it takes ("" for none).
type verb struct{ name, arg string }

// openVerb checks that sub is one of verbs with the right number of
// arguments, then loads the configuration and opens the database (without
// migrating) for it.
func openVerb(ctx context.Context, e env, fs *flag.FlagSet, load func() (Config, error), group, sub string, verbs []verb) (*app, error) {
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = v.name
		if v.name != sub {
			continue
		}
		switch {
		case v.arg == "" && fs.NArg() != 0:
			return nil, fmt.Errorf("%s %s takes no arguments", group, sub)
		case v.arg != "" && fs.NArg() != 1:
			return nil, fmt.Errorf("usage: sigil %s %s %s", group, sub, v.arg)
		}
		cfg, err := load()
		if err != nil {
			return nil, err
		}
		return openApp(ctx, cfg, newLogger(cfg, e.stderr), false)
	}
	fs.Usage()
	return nil, fmt.Errorf("unknown %s command %q (%s)", group, sub, strings.Join(names, ", "))
}
