package main

import (
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Each subcommand's --help shows the command's own flags first, then the
// server configuration flags under their own heading, so that a command's
// few flags are not lost below forty server ones.
func TestSubcommandHelpShowsOwnFlagsFirst(t *testing.T) {
	const heading = "Server configuration flags"
	for _, c := range []struct {
		args []string
		own  []string
	}{
		{[]string{"clients", "create", "--help"}, []string{"-name", "-redirect-uri", "-audience", "-public"}},
		{[]string{"users", "create", "-h"}, []string{"-email", "-admin", "-password-stdin"}},
		{[]string{"users", "list", "--help"}, []string{"-email", "-limit"}},
		{[]string{"keys", "rotate", "--help"}, []string{"-alg"}},
		{[]string{"users", "import", "--help"}, nil},
		{[]string{"migrate", "--help"}, nil},
	} {
		t.Run(strings.Join(c.args[:len(c.args)-1], " "), func(t *testing.T) {
			stdout, stderr, _ := runCLI(t, testEnv(storetest.SQLiteURL(t), nil), "", c.args...)
			out := stdout + stderr
			own, server, ok := strings.Cut(out, heading)
			if !ok {
				t.Fatalf("no %q heading:\n%s", heading, out)
			}
			for _, f := range c.own {
				if !strings.Contains(own, "  "+f+" ") && !strings.Contains(own, "  "+f+"\n") {
					t.Errorf("%s is not among the flags before the server's:\n%s", f, own)
				}
			}
			for _, f := range []string{"-database-url", "-issuer", "-addr"} {
				if strings.Contains(own, "  "+f+" ") {
					t.Errorf("server flag %s is listed before the command's own flags:\n%s", f, own)
				}
				if !strings.Contains(server, "  "+f+" ") {
					t.Errorf("server flag %s is missing under %q", f, heading)
				}
			}
		})
	}
}
