package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigil-auth/sigil/store"
)

// Every file of an SQLite database (the database, its -wal and -shm) is
// made private, 0600, when it is opened: they hold password hashes and
// sealed keys. Here another handle keeps the database open, so its -wal
// and -shm files persist, and they were left readable by others (as an
// older version or a restore from backup leaves them); opening narrows all
// three, not only the database file.
func TestSQLiteFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sigil.db")
	holder, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	files := []string{path, path + "-wal", path + "-shm"}
	for _, p := range files {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range files {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %04o, want no access for group or others", filepath.Base(p), perm)
		}
	}

	// A new database file is private from its creation on.
	fresh := filepath.Join(t.TempDir(), "new.db")
	db2, err := store.Open(ctx, "sqlite:"+fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fresh, fresh + "-wal", fresh + "-shm"} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v, %v", filepath.Base(p), info.Mode(), err)
		}
	}
}
