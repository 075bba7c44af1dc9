package main

import (
	"os"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// A key-encryption key file that group or others may read is refused at
// start with one line saying how to fix it; once it is 0600 the server
// starts. (SQLite only: with Postgres the key comes from the environment.)
func TestKEKFileReadableByOthersIsRefused(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := testEnv(dbURL, nil)
	s := startServer(t, env)
	s.stop()
	kek := store.SQLitePath(dbURL) + ".kek"
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(kek, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := runCLI(t, env, "", "serve")
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+kek) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("serve with the KEK file at mode %04o: %v; want one line asking for chmod 600", mode, err)
		}
		if _, _, err := runCLI(t, env, "", "keys", "list"); err == nil {
			t.Fatalf("keys list with the KEK file at mode %04o succeeded", mode)
		}
	}
	if err := os.Chmod(kek, 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, env).signupLogin(t, "ada@example.com", "correct horse battery")
}
